"""Moodle XML quiz exports (``<quiz><question type="…">``), read into an exam.

What maps: ``multichoice`` (``<single>true</single>`` → ``single``, false → ``multiple``),
``truefalse`` (→ ``single`` with options ``T`` "True" and ``F`` "False") and ``numerical``
(the 100% answer and its absolute ``<tolerance>``; no tolerance → exact value). Marks:
``<defaultgrade>`` is the ``correct`` mark and the answers' ``fraction`` attributes give
the key and the ``wrong`` mark as ``_moodle`` explains (negative fractions included, e.g.
``-33.33333`` of a 3-mark question → ``wrong: -1``); for ``numerical`` a ``*`` answer with a
negative fraction is the wrong mark. ``<penalty>`` (for repeated tries) is ignored: an
exam question is answered once. ``<question type="category">`` starts a section.

A question's id comes from its ``<idnumber>`` when that fits our id pattern, else from its
``<name>``; options are ``A``, ``B``… by position. Text in ``html`` format is read by
``_text``: pictures are the ``<file>`` elements (base64) that ``@@PLUGINFILE@@/NAME``
names, and Moodle 1.9's ``<image>``/``<image_base64>`` is the question's picture (its
alt text is its file name, Moodle 1.9 having none); each becomes a medium of the exam, and
a picture whose data is not in the file refuses its question, naming it. ``markdown`` and
``moodle_auto_format`` text is converted to the same markup (links refused, pictures from
``<file>`` elements too); ``plain_text`` stays text. ``essay`` → a manual ``text``
question out of ``<defaultgrade>``, ``shortanswer`` → a matched one (its answers at
100%). Options are shuffled only when every choice question asks for it
(``<shuffleanswers>``): shuffling a question whose author fixed the order ("All of the
above" last) would do more harm than leaving one unshuffled.

Refused as unsupported, with the question's name and XML path: essays with attachments,
word limits or grader information, case-sensitive or wildcard short answers, matching,
cloze (``multianswer``), drag-and-drop, select missing words, ordering, calculated,
description and random questions, numerical questions with alternative units (a unit
multiplier other than 1) or partial-credit answers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from fractions import Fraction
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from . import _moodle
from ._draft import (
    DEFAULT_SECTION,
    Draft,
    DraftQuestion,
    Malformed,
    Medium,
    Problem,
    Progress,
    Sections,
    Unsupported,
    fit_id,
    letters,
    no_progress,
)
from ._marks import manual_marking, marking_object, number_out, parse_decimal, recover
from ._text import (
    Carrier,
    Content,
    Field,
    html_content,
    markdown_content,
    medium,
    moodle_content,
    normalize,
    plain,
)
from ._xml import local, parse_xml

_PLUGINFILE = "@@PLUGINFILE@@"
_UNSUPPORTED = {
    "match": "a matching question cannot be mapped",
    "matching": "a matching question cannot be mapped",
    "randomsamatch": "random short-answer matching cannot be mapped",
    "multianswer": "an embedded-answers (cloze) question cannot be mapped",
    "ddwtos": "drag and drop into text cannot be mapped",
    "ddimageortext": "drag and drop onto an image cannot be mapped",
    "ddmarker": "drag and drop markers cannot be mapped",
    "gapselect": "select missing words cannot be mapped",
    "ordering": "an ordering question cannot be mapped",
    "calculated": "a calculated question (random values) cannot be mapped",
    "calculatedsimple": "a calculated question (random values) cannot be mapped",
    "calculatedmulti": "a calculated question (random values) cannot be mapped",
    "description": "a description (no answer) is not a question",
    "random": "a random question draws from the question bank, which is not in the file",
}


def _child_text(element: Element | None, name: str = "text") -> str:
    child = None if element is None else element.find(name)
    return "" if child is None or child.text is None else child.text


def _files(element: Element) -> dict[str, bytes]:
    """The ``<file>`` elements (base64) attached to a text, by their path and name."""
    files: dict[str, bytes] = {}
    for item in element.findall("file"):
        name = (item.get("path") or "/").rstrip("/") + "/" + (item.get("name") or "")
        try:
            encoded = "".join((item.text or "").split())
            files[name.lstrip("/")] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("file", f"the attached file {name!r} is not base64") from None
    return files


def _resolver(element: Element) -> Callable[[str], Medium]:
    files = _files(element)

    def resolve(src: str) -> Medium:
        if not src.startswith(_PLUGINFILE):
            raise Unsupported(f"shows a picture ({src}) that is not in the file")
        name = unquote(src[len(_PLUGINFILE) :].split("?")[0]).lstrip("/")
        if name not in files:
            raise Unsupported(f"shows a picture ({name}) whose <file> is not in the file")
        return medium(name, files[name])

    return resolve


def _content(element: Element | None) -> Content:
    """A ``<questiontext>`` or ``<answer>`` by its ``format``: whole, or Unsupported naming why.

    ``html`` (the default) is read as HTML; pictures are the ``<file>`` elements its
    ``@@PLUGINFILE@@/NAME`` sources name. ``moodle_auto_format`` and ``markdown`` are
    converted to HTML first, then read the same way; ``plain_text`` is text.
    """
    text = _child_text(element)
    fmt = "html" if element is None else element.get("format", "html")
    resolve = _resolver(element) if element is not None else _no_file
    if fmt == "html":
        content = html_content(text, resolve)
    elif fmt == "markdown":
        content = markdown_content(text, resolve)
    elif fmt == "moodle_auto_format":
        content = moodle_content(text, resolve)
    else:
        content = plain(text)
    if _PLUGINFILE in content.text:
        raise Unsupported("refers to a file attached in Moodle outside a picture")
    return content


def _no_file(src: str) -> Medium:
    raise Unsupported(f"shows a picture ({src}) that is not in the file")


def _question_text(question: Element, carrier: Carrier) -> Field:
    """The question's text, with Moodle 1.9's ``<image>``/``<image_base64>`` picture."""
    content = _content(question.find("questiontext"))
    image = _child_text(question, "image").strip()
    encoded = _child_text(question, "image_base64").strip()
    if image or encoded:
        name = image or "image"
        if not encoded:
            raise Unsupported(
                f"shows a picture ({name}) that is not in the file (no <image_base64>)"
            )
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("image_base64", f"the picture {name!r} is not base64") from None
        picture = medium(name, data)
        content = Content(
            content.text,
            content.markup + f'<p><img src="media:{picture.name}" alt="{picture.name}"></p>',
            (*content.media, picture),
            (*content.needs, f"a picture ({picture.name})"),
            content.strays,
        )
    return carrier.field(content)


def _flag(question: Element, name: str, default: bool) -> bool:
    text = _child_text(question, name).strip().lower() if question.find(name) is not None else ""
    return default if not text else text in ("1", "true", "yes")


def _percent(text: str | None) -> Fraction:
    value = parse_decimal(text or "0")
    if value is None:
        raise Malformed("answer", f"the fraction {text!r} is not a number")
    return recover(value) / 100


def _grade(question: Element) -> Fraction:
    text = _child_text(question, "defaultgrade").strip()
    if not text:
        return Fraction(1)
    value = parse_decimal(text)
    if value is None or value < 0:
        raise Malformed("defaultgrade", f"{text!r} is not a mark")
    return recover(value)


def _choice(question: Element, grade: Fraction, carrier: Carrier) -> tuple[DraftQuestion, bool]:
    answers = question.findall("answer")
    if len(answers) < 2:
        raise Malformed("answer", "a multiple-choice question needs at least two answers")
    options = tuple((letters(i), carrier.field(_content(a))) for i, a in enumerate(answers))
    weights = [_percent(a.get("fraction")) for a in answers]
    shuffle = _flag(question, "shuffleanswers", True)
    if _flag(question, "single", True):
        keys, marking = _moodle.single_answer(weights, grade)
        key: Any = options[keys[0]][0] if len(keys) == 1 else [options[k][0] for k in keys]
        return DraftQuestion("", "single", "", options, key, marking), shuffle
    keys, marking = _moodle.multiple_answer(weights, grade)
    return DraftQuestion(
        "", "multiple", "", options, [options[k][0] for k in keys], marking
    ), shuffle


def _true_false(question: Element, grade: Fraction) -> DraftQuestion:
    weights = {"true": Fraction(0), "false": Fraction(0)}
    for answer in question.findall("answer"):
        value = _child_text(answer).strip().lower()
        if value not in weights:
            raise Malformed("answer", f"a true/false answer reads {value!r}")
        weights[value] = _percent(answer.get("fraction"))
    keys, marking = _moodle.single_answer([weights["true"], weights["false"]], grade)
    options = (("T", "True"), ("F", "False"))
    return DraftQuestion("", "single", "", options, options[keys[0]][0], marking)


def _numerical(question: Element, grade: Fraction) -> DraftQuestion:
    for unit in question.iter("unit"):
        multiplier = parse_decimal(_child_text(unit, "multiplier") or "1")
        if multiplier != 1:
            raise Unsupported("alternative units (a unit multiplier other than 1) cannot be mapped")
    correct: list[dict[str, Any]] = []
    wrong = Fraction(0)
    for answer in question.findall("answer"):
        weight = _percent(answer.get("fraction"))
        text = _child_text(answer).strip()
        if text == "*":
            if weight > 0:
                raise Unsupported("the answer '*' gives credit for anything")
            wrong = weight
            continue
        if weight == 0:
            continue  # a value worth nothing scores like any wrong answer
        if weight != 1:
            raise Unsupported(
                f"an answer gives {_moodle.percent(weight)}; a numeric question here "
                "has one correct answer"
            )
        value = parse_decimal(text)
        tolerance = parse_decimal(_child_text(answer, "tolerance") or "0")
        if value is None or tolerance is None or tolerance < 0:
            raise Malformed(
                "answer", f"the numerical answer {text!r} is not a number with a tolerance"
            )
        correct.append({"value": number_out(value)})
        if tolerance:
            correct[-1]["tolerance"] = number_out(tolerance)
    if len(correct) != 1:
        raise Unsupported(
            "several separate values are correct; examvault accepts one value or range"
        )
    return DraftQuestion("", "numeric", "", (), correct[0], marking_object(grade, grade * wrong))


def _essay(question: Element, grade: Fraction) -> DraftQuestion:
    """An essay: a written answer a person marks, out of ``defaultgrade``.

    What an essay asks beyond text is refused rather than dropped: attachments, a
    response that is not typed, a word limit, and information for graders.
    """
    if (parse_decimal(_child_text(question, "attachments") or "0") or 0) != 0:
        raise Unsupported("an essay that takes attached files cannot be mapped")
    if _child_text(question, "responseformat").strip() == "noinline":
        raise Unsupported("an essay answered only by attached files cannot be mapped")
    for limit in ("minwordlimit", "maxwordlimit"):
        if (parse_decimal(_child_text(question, limit) or "0") or 0) > 0:
            raise Unsupported(f"an essay with a word limit (<{limit}>) cannot be mapped")
    if normalize(_child_text(question.find("graderinfo"))):
        raise Unsupported("information for graders (<graderinfo>) cannot be carried")
    return DraftQuestion("", "text", "", (), None, manual_marking(grade))


def _short_answer(question: Element, grade: Fraction) -> DraftQuestion:
    """A short answer: the answers at 100% are matched, case-insensitively; others score 0."""
    if _flag(question, "usecase", False):
        raise Unsupported("a case-sensitive short answer cannot be mapped (matching ignores case)")
    accepted: list[str] = []
    for answer in question.findall("answer"):
        weight = _percent(answer.get("fraction"))
        text = " ".join(normalize(_child_text(answer)).split())
        if weight == 0:
            continue  # worth nothing: scores like any wrong answer
        if weight != 1:
            raise Unsupported(
                f"an answer gives {_moodle.percent(weight)}; a matched answer here is "
                "right or wrong"
            )
        if "*" in text:
            raise Unsupported(f"the answer {text!r} uses Moodle's * wildcard, which is not matched")
        if text:
            accepted.append(text)
    if not accepted:
        raise Unsupported("no answer is fully correct (100%)")
    answers = tuple(dict.fromkeys(accepted))
    return DraftQuestion("", "text", "", (), answers, marking_object(grade, Fraction(0)))


def _question(question: Element, kind: str) -> tuple[DraftQuestion, bool | None]:
    if kind in _UNSUPPORTED:
        raise Unsupported(_UNSUPPORTED[kind])
    grade = _grade(question)
    carrier = Carrier()
    text = _question_text(question, carrier)  # first: its pictures come first
    shuffle: bool | None = None
    if kind == "multichoice":
        draft, shuffle = _choice(question, grade, carrier)
    elif kind == "truefalse":
        draft = _true_false(question, grade)
    elif kind == "numerical":
        draft = _numerical(question, grade)
    elif kind == "essay":
        draft = _essay(question, grade)
    elif kind == "shortanswer":
        draft = _short_answer(question, grade)
    else:
        raise Unsupported(f"the question type {kind!r} cannot be mapped")
    idnumber = _child_text(question, "idnumber").strip()
    source = idnumber if fit_id(idnumber) else _child_text(question.find("name")).strip()
    return DraftQuestion(
        source, draft.type, text, draft.options, draft.answer, draft.marking, carrier.found
    ), shuffle


def read(data: bytes, progress: Progress = no_progress) -> Draft:
    """The questions and categories of a Moodle XML quiz file."""
    root = parse_xml(data, "quiz")
    if local(root.tag) != "quiz":
        raise Malformed("quiz", f"the root element is <{local(root.tag)}>, not <quiz>")
    sections = Sections()
    key, name, title = DEFAULT_SECTION[0], DEFAULT_SECTION[0], DEFAULT_SECTION[1]
    shuffles: list[bool] = []
    position = 0
    questions = [element for element in root if local(element.tag) == "question"]
    for element in questions:
        position += 1
        progress(position, len(questions))
        path = f"quiz/question[{position}]"
        kind = element.get("type", "")
        if kind == "category":
            key, name, title = _moodle.category_section(_child_text(element.find("category")))
            continue
        raw = _child_text(element.find("name")).strip()
        label = raw or f"question {position}"
        idnumber = _child_text(element, "idnumber").strip()
        try:
            question, shuffle = _question(element, kind)
        except Unsupported as exc:
            sections.refuse(Problem(label, path, exc.reason, idnumber if fit_id(idnumber) else raw))
            continue
        except Malformed as exc:
            raise Malformed(path, exc.problem.msg, item=label) from None
        sections.add(key, title, question, name=name)
        if shuffle is not None:
            shuffles.append(shuffle)
    fields = {"shuffle": {"options": bool(shuffles) and all(shuffles)}}
    return sections.draft(None, fields)
