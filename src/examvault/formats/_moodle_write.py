"""An exam as Moodle XML (``<quiz>``): what Moodle's question bank imports, pictures included.

Each section is a ``<question type="category">`` (``$course$/top/<title>``, a ``/`` in the
title written ``//``), each question one ``<question>`` named and ``<idnumber>``-ed by its
id: ``single`` → ``multichoice`` with ``<single>true</single>``, ``multiple`` → with
``false``, ``numeric`` → ``numerical`` (a range written as its middle value and half its
width as the tolerance), a manual ``text`` → ``essay``, a matched one → ``shortanswer``.
The marks are stated as Moodle reads them (``_moodle``): ``<defaultgrade>`` is ``correct``;
a single answer's wrong options carry ``wrong / correct`` as a fraction when that lies in
−100..0%, a multiple answer's key options equal shares and the others −100%; a numerical
wrong mark is the fraction of a ``*`` answer. ``unanswered`` marks, pools and exam settings
have no Moodle XML field and are not written.

Text: a plain string is ``format="plain_text"``; rich text is ``format="html"`` with the
author's markup (TeX as written: Moodle's TeX filters read ``\\(…\\)`` and ``\\[…\\]``),
each ``media:NAME`` written ``@@PLUGINFILE@@/NAME`` and the picture attached to that text
as a base64 ``<file>``, as Moodle exports its own.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from examvault.domain import richtext
from examvault.domain.marking import parse_mark

from . import _moodle
from ._marks import decimal_text, resolve_marking
from ._media import words

_SRC = re.compile(r"""(\bsrc\s*=\s*["']?)media:""", re.IGNORECASE)


def _number(value: Fraction) -> str:
    """A mark or value as Moodle writes decimals (at most 7 digits after the point)."""
    try:
        return decimal_text(value)
    except ValueError:  # does not terminate: the reader recovers p/q from 7 digits
        return format(round(float(value), 7), "f").rstrip("0").rstrip(".")


def _text(parent: Element, name: str, value: Any, media: Mapping[str, bytes]) -> Element:
    """A ``<name format=…><text>…</text><file>…</file></name>`` for a text field."""
    element = SubElement(parent, name)
    _fill(element, value, media)
    return element


def _fill(element: Element, value: Any, media: Mapping[str, bytes]) -> None:
    if isinstance(value, str):
        element.set("format", "plain_text")
        SubElement(element, "text").text = value
        return
    markup = value["html"]
    element.set("format", "html")
    SubElement(element, "text").text = _SRC.sub(r"\1@@PLUGINFILE@@/", markup)
    for name in richtext.render(markup).media:
        attached = SubElement(element, "file", name=name, path="/", encoding="base64")
        attached.text = base64.b64encode(media[name]).decode("ascii")


def _head(parent: Element, question: Mapping[str, Any], kind: str, grade: Fraction,
          media: Mapping[str, bytes]) -> Element:  # fmt: skip
    element = SubElement(parent, "question", type=kind)
    SubElement(SubElement(element, "name"), "text").text = question["id"]
    _text(element, "questiontext", question["text"], media)
    SubElement(element, "idnumber").text = question["id"]
    SubElement(element, "defaultgrade").text = _number(grade)
    return element


def _answer(parent: Element, fraction: Fraction, value: Any, media: Mapping[str, bytes]) -> Element:
    element = SubElement(parent, "answer", fraction=_moodle.rounded_percent(fraction))
    _fill(element, value, media)
    return element


def _choice(element: Element, question: Mapping[str, Any], shuffle: bool,
            media: Mapping[str, bytes]) -> None:  # fmt: skip
    marks = resolve_marking(question["marking"])
    answer = question["answer"]
    keys = [answer] if isinstance(answer, str) else list(answer)
    single = question["type"] == "single"
    SubElement(element, "single").text = "true" if single else "false"
    SubElement(element, "shuffleanswers").text = "1" if shuffle else "0"
    SubElement(element, "answernumbering").text = "abc"
    if single:
        ratio = marks.wrong / marks.correct if marks.correct > 0 else Fraction(0)
        other = ratio if -1 <= ratio <= 0 else Fraction(0)
    for option in question["options"]:
        if single:
            fraction = Fraction(1) if option["id"] in keys else other
        else:
            fraction = Fraction(1, len(keys)) if option["id"] in keys else Fraction(-1)
        _answer(element, fraction, option["text"], media)


def _numerical(element: Element, question: Mapping[str, Any]) -> None:
    marks = resolve_marking(question["marking"])
    answer = question["answer"]
    if "min" in answer:
        low, high = parse_mark(answer["min"]), parse_mark(answer["max"])
        value, tolerance = (low + high) / 2, (high - low) / 2
    else:
        value, tolerance = parse_mark(answer["value"]), parse_mark(answer.get("tolerance", 0))
    correct = SubElement(element, "answer", fraction="100")
    SubElement(correct, "text").text = _number(value)
    SubElement(correct, "tolerance").text = _number(tolerance)
    ratio = marks.wrong / marks.correct if marks.correct > 0 else Fraction(0)
    if marks.wrong and -1 <= ratio < 0:
        anything = SubElement(element, "answer", fraction=_moodle.rounded_percent(ratio))
        SubElement(anything, "text").text = "*"


def _written(element: Element, question: Mapping[str, Any]) -> None:
    accepted = question.get("answer")
    if accepted is None:  # an essay: typed, no attachments, no word limits
        SubElement(element, "responseformat").text = "editor"
        SubElement(element, "attachments").text = "0"
        return
    SubElement(element, "usecase").text = "0"
    for text in accepted:
        SubElement(SubElement(element, "answer", fraction="100"), "text").text = text


def write(definition: Mapping[str, Any], media: Mapping[str, bytes] | None = None) -> bytes:
    """The exam as a Moodle XML quiz file; ``media`` are the pictures its markup shows."""
    files = media or {}
    shuffle = bool(definition.get("shuffle", {}).get("options"))
    quiz = Element("quiz")
    for section in definition["sections"]:
        title = words(section.get("title") or section["id"]).replace("/", "//")
        category = SubElement(quiz, "question", type="category")
        SubElement(SubElement(category, "category"), "text").text = f"$course$/top/{title}"
        for question in section["questions"]:
            grade = resolve_marking(question["marking"]).correct
            kind = question["type"]
            if kind in ("single", "multiple"):
                _choice(
                    _head(quiz, question, "multichoice", grade, files), question, shuffle, files
                )
            elif kind == "numeric":
                _numerical(_head(quiz, question, "numerical", grade, files), question)
            else:
                manual = question.get("answer") is None
                moodle = "essay" if manual else "shortanswer"
                _written(_head(quiz, question, moodle, grade, files), question)
    text = tostring(quiz, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode()
