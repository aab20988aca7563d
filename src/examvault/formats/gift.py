"""Moodle GIFT text, read and written as Moodle's own GIFT filter does.

Reading follows Moodle's ``qformat_gift``: questions are separated by blank lines, lines
starting with ``//`` are comments, ``::name::`` names a question, the answer block is the
first ``{…}``, ``\\~ \\= \\# \\{ \\} \\: \\\\`` escape special characters and ``\\n`` is a
line break, ``[html]``/``[moodle]``/``[plain]``/``[markdown]`` set the text format, and
``$CATEGORY: path`` starts a section. A link or a picture in any text (``<a href>``,
``<img>``, Markdown's ``[text](url)`` and ``![alt](src)``) is refused: GIFT holds no
files, and examvault's texts hold no links. A blank inside a sentence
(``Grant is {~buried =entombed} in…``) is kept as ``_____`` in the text.

What maps: multiple choice (``{=right ~wrong}``, with ``~%50%`` / ``~%-25%`` weights; one
or more ``=`` answers make it single-answer, none make it multiple-answer), true/false
(``{T}``, ``{TRUE}``, ``{F}``, ``{FALSE}`` → options ``T`` "True" and ``F`` "False"), and
numerical answers (``{#3.14}``, ``{#3.14:0.01}`` value and tolerance, ``{#1..5}`` range).
Weights map as ``_moodle`` explains, with a mark of 1 (GIFT states no marks). Options get
ids ``A``, ``B``… by position; a question's ``::name::`` gives its id. Feedback (``#…``,
``####…``) is not carried. Essays (``{}``) become manual ``text`` questions and short
answers (``{=a =b}``) matched ones. Refused as unsupported: short answers with partial
credit or ``*`` wildcards, matching (``{=a -> b}``), descriptions (text with no answer
block), several blanks in one question, and numerical questions with partial-credit
answers.

Writing produces one ``$CATEGORY`` per section (its title), ``::id::`` names, options in
order, and weights only where they restate the marks as Moodle would read them; GIFT holds
no exam settings, so importing the file again keeps questions, options, keys and sections.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from html import escape
from typing import Any

from examvault.domain.marking import parse_mark

from . import _moodle
from ._draft import (
    DEFAULT_SECTION,
    Draft,
    DraftQuestion,
    Malformed,
    Problem,
    Progress,
    Sections,
    Unsupported,
    letters,
    no_progress,
)
from ._marks import (
    decimal_text,
    manual_marking,
    marking_object,
    number_out,
    parse_decimal,
    recover,
    resolve_marking,
)
from ._media import shown_media, words
from ._text import Field, html_content, markdown_content, moodle_content, plain, refuse_links

_ESCAPED = {
    ":": "\ue000",
    "#": "\ue001",
    "=": "\ue002",
    "{": "\ue003",
    "}": "\ue004",
    "~": "\ue005",
}
_NEWLINE, _BACKSLASH = "\ue006", "\ue007"
_RESTORE = {v: k for k, v in _ESCAPED.items()} | {_NEWLINE: "\n", _BACKSLASH: "\\"}
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d+)?)%")
_FORMATS = ("html", "moodle", "plain", "markdown")
# What Moodle's own format would read as more than text (tags, entities, TeX).
_MARKUP = ("<", "&", "\\(", "\\[", "$$")
_TRUE_FALSE = {"T": "T", "TRUE": "T", "F": "F", "FALSE": "F"}


def _protect(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH).replace("\\n", _NEWLINE)
    for char, placeholder in _ESCAPED.items():
        text = text.replace("\\" + char, placeholder)
    return text


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(char, char) for char in text)


def _with_format(text: str, default: str = "moodle") -> tuple[Field, str]:
    """(field, format) of a GIFT text part with an optional ``[format]`` prefix.

    GIFT holds no files, so a link or a picture in any format refuses the question; Moodle's
    own format and Markdown are converted to markup as Moodle shows them.
    """
    text, fmt = text.strip(), default
    match = re.match(r"\[(\w+)\]", text)
    if match and match.group(1) in _FORMATS:
        fmt, text = match.group(1), text[match.end() :]
    raw = _restore(text).strip()
    if fmt == "html":
        return html_content(raw).value(), fmt
    if fmt == "plain":
        return plain(raw).value(), fmt
    refuse_links(raw)  # quoted as written: the author finds it in the file
    content = markdown_content(raw) if fmt == "markdown" else moodle_content(raw)
    return content.value(), fmt


def _weight(text: str) -> Fraction:
    """A ``%weight%`` as a fraction of the mark."""
    value = parse_decimal(text)
    if value is None:
        raise Malformed("answers", f"the weight %{text}% is not a number")
    return recover(value) / 100


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Questions as (first line number, lines), split on blank lines as Moodle does."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    # Only CR/LF end a line, as in Moodle (str.splitlines would also split on U+2028…).
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(" " if line.strip().startswith("//") else line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _choice(
    answer: str, fmt: str
) -> tuple[str, tuple[tuple[str, Field], ...], Any, dict[str, Any]]:
    single = "=" in answer
    parts = answer.replace("=", "~=").split("~")
    if not parts[0].strip():
        parts = parts[1:]
    if len(parts) < 2:
        raise Malformed("answers", "a multiple-choice question needs at least two answers")
    options: list[tuple[str, Field]] = []
    weights: list[Fraction] = []
    for index, part in enumerate(parts):
        part = part.strip()
        weight = Fraction(0)
        if part.startswith("="):
            weight, part = Fraction(1), part[1:]
        elif match := _WEIGHT.match(part):
            weight = _weight(match.group(1))
            if abs(weight) > 1:
                raise Malformed("answers", f"the weight {match.group(0)} is outside -100%..100%")
            part = part[match.end() :]
        options.append((letters(index), _with_format(part.split("#")[0], fmt)[0]))
        weights.append(weight)
    if single:
        keys, marking = _moodle.single_answer(weights, Fraction(1))
        key_ids = [options[k][0] for k in keys]
        return "single", tuple(options), key_ids[0] if len(key_ids) == 1 else key_ids, marking
    keys, marking = _moodle.multiple_answer(weights, Fraction(1))
    return "multiple", tuple(options), [options[k][0] for k in keys], marking


def _number(text: str) -> Decimal:
    value = parse_decimal(text)
    if value is None:
        raise Malformed("answers", f"{text.strip()!r} is not a number")
    return value


def _numeric(answer: str) -> dict[str, Any]:
    body = answer[1:].split("~")[0]  # after "~": feedback for any other answer
    parts = body.split("=")
    if not parts[0].strip():
        parts = parts[1:]
    if not parts:
        raise Malformed("answers", "a numerical question needs an answer")
    correct: list[dict[str, Any]] = []
    for part in parts:
        part = part.strip()
        weight = Fraction(1)
        if match := _WEIGHT.match(part):
            weight, part = _weight(match.group(1)), part[match.end() :]
        value = _restore(part.split("#")[0]).strip()
        if value == "*":
            if weight > 0:
                raise Unsupported("the answer '*' accepts anything, which cannot be mapped")
            continue
        if weight == 0:
            continue  # an answer worth nothing scores like any wrong answer
        if weight != 1:
            raise Unsupported(
                f"an answer gives {_moodle.percent(weight)} credit; a numeric question "
                "here has one correct answer"
            )
        if ".." in value[1:]:
            low_text, high_text = value.split("..", 1)
            low, high = _number(low_text), _number(high_text)
            if low > high:
                raise Malformed("answers", f"the range {value!r} is empty")
            correct.append({"min": number_out(low), "max": number_out(high)})
        elif ":" in value[1:]:
            value_text, tolerance_text = value.split(":", 1)
            tolerance = _number(tolerance_text)
            if tolerance < 0:
                raise Malformed("answers", "a tolerance cannot be negative")
            correct.append({"value": number_out(_number(value_text))})
            if tolerance:
                correct[-1]["tolerance"] = number_out(tolerance)
        else:
            correct.append({"value": number_out(_number(value))})
    if len(correct) != 1:
        raise Unsupported(
            "several separate values are correct; examvault accepts one value or range"
        )
    return correct[0]


def _question(body: str) -> DraftQuestion:
    name = ""
    text = body
    if text.startswith("::"):
        text = text[2:]
        end = text.find("::")
        if end >= 0:
            name, text = _restore(text[:end]).strip(), text[end + 2 :].strip()
    start, end = text.find("{"), text.find("}")
    if start < 0 and end < 0:
        raise Unsupported("a description (no answer block) is not a question")
    if start < 0 or end < start:
        raise Malformed("text", "unbalanced braces { }")
    answer, after = text[start + 1 : end].strip(), text[end + 1 :]
    if "{" in after or "}" in after:
        raise Unsupported("several answer blanks in one question (cloze) cannot be mapped")
    blank = "" if text.endswith("}") else "_____"
    question_text, fmt = _with_format(text[:start] + blank + after)
    if (feedback := answer.rfind("####")) >= 0:
        answer = answer[:feedback].strip()
    if not answer:  # an essay: a written answer a person marks
        return DraftQuestion(name, "text", question_text, (), None, manual_marking(Fraction(1)))
    if answer.startswith("#"):
        return DraftQuestion(
            name,
            "numeric",
            question_text,
            (),
            _numeric(answer),
            marking_object(Fraction(1), Fraction(0)),
        )
    if "~" in answer:
        kind, options, key, marking = _choice(answer, fmt)
        return DraftQuestion(name, kind, question_text, options, key, marking)
    if "=" in answer and "->" in answer:
        raise Unsupported("a matching question cannot be mapped")
    head = answer.split("#")[0].strip()
    if head in _TRUE_FALSE:
        options = (("T", "True"), ("F", "False"))
        return DraftQuestion(
            name,
            "single",
            question_text,
            options,
            _TRUE_FALSE[head],
            marking_object(Fraction(1), Fraction(0)),
        )
    return DraftQuestion(
        name,
        "text",
        question_text,
        (),
        _short_answers(answer),
        marking_object(Fraction(1), Fraction(0)),
    )


def _short_answers(answer: str) -> tuple[str, ...]:
    """The accepted strings of a short answer ``{=four =4}``; each must be worth 100%."""
    parts = [part.strip() for part in answer.split("=")]
    if parts[0]:
        raise Malformed("answers", "a short answer lists its answers as =answer")
    accepted: list[str] = []
    for part in parts[1:]:
        if match := _WEIGHT.match(part):
            weight = _weight(match.group(1))
            part = part[match.end() :]
            if weight != 1:
                raise Unsupported(
                    f"a short answer gives {_moodle.percent(weight)} credit; a matched "
                    "answer here is right or wrong"
                )
        value = " ".join(_restore(part.split("#")[0]).split())
        if not value:
            raise Malformed("answers", "a short answer is empty")
        if "*" in value:
            raise Unsupported(
                f"the answer {value!r} uses Moodle's * wildcard, which is not matched"
            )
        accepted.append(value)
    return tuple(dict.fromkeys(accepted))


def read(data: bytes, progress: Progress = no_progress) -> Draft:
    """The questions and categories of a GIFT file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Malformed("file", f"not UTF-8 text (byte {exc.start})") from None
    sections = Sections()
    key, name, title = DEFAULT_SECTION[0], DEFAULT_SECTION[0], DEFAULT_SECTION[1]
    number = 0
    blocks = _blocks(text)
    for done, (line, lines) in enumerate(blocks, start=1):
        progress(done, len(blocks))
        body = _protect("\n".join(lines).strip())
        if not body:
            continue
        if body.startswith("$CATEGORY:"):
            first, _, body = body.partition("\n")
            key, name, title = _moodle.category_section(_restore(first[len("$CATEGORY:") :]))
            line += 1
            body = body.strip()
            if not body:
                continue
        number += 1
        raw = _restore(body[2:].split("::")[0]).strip() if body.startswith("::") else ""
        label = raw or f"question {number}"
        try:
            sections.add(key, title, _question(body), name=name)
        except Unsupported as exc:
            sections.refuse(Problem(label, f"line {line}", exc.reason, name=raw))
        except Malformed as exc:
            raise Malformed(f"line {line}", exc.problem.msg, item=label) from None
    return sections.draft()


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for char in _ESCAPED:
        text = text.replace(char, "\\" + char)
    return text.replace("\r", "").replace("\n", "\\n")


def _text(text: str, html: bool = False) -> str:
    """Escaped text, guarded so that it reads back as the same plain text.

    GIFT's default format is Moodle's, which lets markup and TeX through: a text holding
    ``<``, ``&``, ``\\(``, ``\\[`` or ``$$``, or one that starts like a format marker
    (``[html]…``), is written ``[plain]``.
    """
    escaped = _escape(text)
    if html:  # markup of an [html] question: stated again, so it reads as markup
        return "[html]" + escaped
    marker = re.match(r"\[(\w+)\]", text) and text[1 : text.index("]")] in _FORMATS
    if marker or any(mark in text for mark in _MARKUP):
        escaped = "[plain]" + escaped
    return escaped


def _weighted(weight: Fraction | None, text: str, html: bool = False) -> str:
    """A ``~`` answer; ``%0%`` keeps a text like ``%50% off`` from reading as a weight."""
    if weight is None or weight == 0:
        guard = "%0%" if _WEIGHT.match(text) and not html else ""
        return f"\t~{guard}{_text(text, html)}"
    return f"\t~%{_moodle.rounded_percent(weight)}%{_text(text, html)}"


def _answers(question: Mapping[str, Any], html: bool = False) -> list[str]:
    marking = resolve_marking(question["marking"])
    correct, wrong = marking.correct, marking.wrong
    kind = question["type"]
    if kind == "text":  # an essay {} (manual) or a short answer {=a =b} (matched)
        accepted = question.get("answer") or []
        return ["{" + " ".join(f"={_escape(text)}" for text in accepted) + "}"]
    answer = question["answer"]
    if kind == "numeric":
        if "min" in answer:
            return [
                f"{{#{decimal_text(parse_mark(answer['min']))}..{decimal_text(parse_mark(answer['max']))}}}"
            ]
        value = decimal_text(parse_mark(answer["value"]))
        tolerance = parse_mark(answer.get("tolerance", 0))
        return [f"{{#{value}:{decimal_text(tolerance)}}}" if tolerance else f"{{#{value}}}"]
    options = question["options"]
    if (
        kind == "single"
        and answer in ("T", "F")
        and [(o["id"], o["text"]) for o in options] == [("T", "True"), ("F", "False")]
    ):
        return ["{TRUE}" if answer == "T" else "{FALSE}"]
    if len(options) < 2:
        raise ValueError(f"question {question['id']}: GIFT needs at least two options")
    keys = [answer] if isinstance(answer, str) else list(answer)
    lines = ["{"]
    if kind == "single":
        # wrong/correct is the fraction Moodle deducts; GIFT can state it only within -100%..0.
        ratio = wrong / correct if correct > 0 and -1 <= wrong / correct <= 0 else None
        for index, option in enumerate(options):
            if option["id"] not in keys:
                lines.append(_weighted(ratio, option["text"], html))
            elif index == len(options) - 1 and len(keys) == len(options):
                # Every option is accepted: one "~" keeps Moodle from reading short answer.
                lines.append(_weighted(Fraction(1), option["text"], html))
            else:
                lines.append(f"\t={_text(option['text'], html)}")
    else:
        share = Fraction(1, len(keys))
        for option in options:
            weight = share if option["id"] in keys else Fraction(-1)
            lines.append(_weighted(weight, option["text"], html))
    lines.append("}")
    return ["\n".join(lines)]


def _as_html(value: Field) -> str:
    """A field as markup: rich text as written, plain text escaped with its line breaks."""
    if isinstance(value, Mapping):
        return str(value["html"])
    return "<br>".join(escape(line, quote=False) for line in value.split("\n"))


def _gift_question(question: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The question with string texts, and whether they are markup (``[html]``).

    GIFT states one format per question, its answers included; a question with any rich
    text is written ``[html]``, its plain texts escaped. GIFT holds no files, so a
    question that shows a picture cannot be written: refused, naming it.
    """
    if pictures := shown_media(question):
        raise ValueError(
            f"question {question['id']}: GIFT cannot hold pictures (media:{pictures[0]}); "
            "export to qti, moodle_xml or json"
        )
    options = question.get("options") or []
    if all(isinstance(v, str) for v in [question["text"], *(o["text"] for o in options)]):
        return question, False
    copy = dict(question)
    copy["text"] = _as_html(question["text"])
    copy["options"] = [dict(o) | {"text": _as_html(o["text"])} for o in options]
    return copy, True


def write(definition: Mapping[str, Any]) -> bytes:
    """The exam as GIFT text: sections as categories, questions named by their ids."""
    out = [
        f"// examvault exam {_escape(definition['id'])}: {_escape(words(definition['title']))}",
        "// GIFT holds no marks or exam settings; see docs/formats.md.",
        "",
    ]
    for section in definition["sections"]:
        title = _escape(words(section.get("title") or section["id"])).replace("/", "//")
        out += [f"$CATEGORY: $course$/top/{title}", ""]
        for original in section["questions"]:
            question, html = _gift_question(original)
            head = f"::{_escape(question['id'])}::{_text(question['text'], html)}"
            out += [head + _answers(question, html)[0], ""]
    return "\n".join(out).encode()
