"""An exam as a QTI 3.0 content package: ``imsmanifest.xml``, one test, one file per item.

The test carries the exam's id, title, duration (``qti-time-limits max-time``), sections
(one test part; ``qti-ordering shuffle`` when questions are shuffled) and a SCORE total.
Each item declares its key as the correct response and states its marks in explicit
response processing — none / key / part of the key / anything else — because the
standard templates cannot express a wrong mark other than a mapping default, an
unanswered mark, or partial credit. Marks that are not terminating decimals (``-1/3``) are
written as ``qti-divide`` of two integers, so they survive exactly; ``MAXSCORE`` is
declared too, for tools that read it. QTI identifiers may not start with a digit, so an
id such as ``1`` is written ``_1`` (the reader strips the ``_`` again).

Rich text is written as the item's XHTML (QTI's content model holds the allowed markup):
pictures as ``img`` whose ``src`` is the package file ``media/NAME`` (the exam's medium,
listed as a file of each item resource that shows it), MathML inline, and LaTeX as MathML
that keeps its TeX in an ``application/x-tex`` annotation (``richtext.author_tree``), so
the import gives back the TeX the author wrote. Titles that are rich text are written as
their words (a QTI title is text).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from fractions import Fraction
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from examvault.domain import richtext
from examvault.domain.marking import parse_mark

from ._marks import decimal_text, resolve_marking
from ._media import shown_media, words

NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
TEST_FILE = "assessment-test.xml"
MEDIA_DIR = "media/"


def _copy(source: ET.Element, target: Element) -> None:
    """The checked markup's children (XHTML, MathML) appended to a QTI element."""
    if source.text:
        _append_text(target, source.text)
    for child in source:
        ns, _, name = child.tag[1:].partition("}")
        attrs = {k.rsplit("}", 1)[-1]: v for k, v in child.attrib.items()}
        if ns == richtext.MATHML and name == "math":
            attrs = {"xmlns": richtext.MATHML, **attrs}
        if name == "img" and ns == richtext.XHTML:
            attrs["src"] = "../" + MEDIA_DIR + attrs["src"].removeprefix("media:")
        element = SubElement(target, name, attrs)
        _copy(child, element)
        element.tail = child.tail


def _append_text(target: Element, text: str) -> None:
    children = list(target)
    if children:
        children[-1].tail = (children[-1].tail or "") + text
    else:
        target.text = (target.text or "") + text


def _body_text(body: Element, value: Any) -> None:
    """A question's text in the item body: lines as paragraphs, or its markup."""
    if isinstance(value, Mapping):
        _copy(richtext.author_tree(value["html"]), body)
        return
    for line in value.split("\n") if value else []:
        SubElement(body, "p").text = line


def qti_id(value: str) -> str:
    """Our id as a QTI identifier (an NCName cannot start with a digit)."""
    return f"_{value}" if value[:1].isdigit() else value


def _root(tag: str, **attrs: str) -> Element:
    return Element(
        tag, {"xmlns": NS, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{NS} {SCHEMA}", **attrs}
    )


def _value_text(value: Fraction) -> str:
    try:
        return decimal_text(value)
    except ValueError:
        return format(float(value), ".10f")


def _score(parent: Element, value: Fraction) -> None:
    """A float expression for ``value``: a base value, or a division when it does not terminate."""
    try:
        SubElement(parent, "qti-base-value", {"base-type": "float"}).text = decimal_text(value)
    except ValueError:
        divide = SubElement(parent, "qti-divide")
        for part in (value.numerator, value.denominator):
            SubElement(divide, "qti-base-value", {"base-type": "float"}).text = str(part)


def _set_score(parent: Element) -> Element:
    return SubElement(parent, "qti-set-outcome-value", identifier="SCORE")


def _response(parent: Element) -> None:
    SubElement(parent, "qti-variable", identifier="RESPONSE")


def _lines(parent: Element, text: str) -> None:
    """Text lines inside ``parent``, separated by ``<br/>`` so the reader keeps them apart."""
    lines = text.split("\n")
    parent.text = lines[0]
    for line in lines[1:]:
        SubElement(parent, "br").tail = line


def _key_test(parent: Element, question: Mapping[str, Any]) -> None:
    kind, answer = question["type"], question["answer"]
    if kind == "numeric":
        if "min" in answer:
            both = SubElement(parent, "qti-and")
            for tag, bound in (("qti-gte", answer["min"]), ("qti-lte", answer["max"])):
                compare = SubElement(both, tag)
                _response(compare)
                SubElement(compare, "qti-base-value", {"base-type": "float"}).text = decimal_text(
                    parse_mark(bound)
                )
            return
        tolerance = parse_mark(answer.get("tolerance", 0))
        attrs = (
            {"tolerance-mode": "absolute", "tolerance": decimal_text(tolerance)}
            if tolerance
            else {"tolerance-mode": "exact"}
        )
        equal = SubElement(parent, "qti-equal", attrs)
        _response(equal)
        SubElement(equal, "qti-correct", identifier="RESPONSE")
        return
    if kind == "single" and isinstance(answer, list) and len(answer) > 1:
        member = SubElement(parent, "qti-member")
        _response(member)
        accepted = SubElement(member, "qti-multiple")
        for key in answer:
            SubElement(accepted, "qti-base-value", {"base-type": "identifier"}).text = qti_id(key)
        return
    match = SubElement(parent, "qti-match")
    _response(match)
    SubElement(match, "qti-correct", identifier="RESPONSE")


def _processing(item: Element, question: Mapping[str, Any]) -> None:
    marks = resolve_marking(question["marking"])
    condition = SubElement(SubElement(item, "qti-response-processing"), "qti-response-condition")
    branch = SubElement(condition, "qti-response-if")
    _response(SubElement(branch, "qti-is-null"))
    _score(_set_score(branch), marks.unanswered)
    branch = SubElement(condition, "qti-response-else-if")
    _key_test(branch, question)
    _score(_set_score(branch), marks.correct)
    if question["type"] == "multiple" and marks.partial != "none":
        branch = SubElement(condition, "qti-response-else-if")
        contains = SubElement(branch, "qti-contains")
        SubElement(contains, "qti-correct", identifier="RESPONSE")
        _response(contains)
        product = SubElement(_set_score(branch), "qti-product")
        if marks.partial == "proportional":
            _score(product, marks.correct)
            share = SubElement(product, "qti-divide")
            _response(SubElement(share, "qti-container-size"))
            SubElement(share, "qti-base-value", {"base-type": "float"}).text = str(
                len(question["answer"])
            )
        else:
            _response(SubElement(product, "qti-container-size"))
            _score(product, marks.partial_per_option)
    _score(_set_score(SubElement(condition, "qti-response-else")), marks.wrong)


def _text_item(question: Mapping[str, Any]) -> bytes:
    """A written answer: an extended text (manual) or a text entry of strings (matched).

    A manual question's maximum is ``SCORE``'s ``normal-maximum`` and it has no response
    processing (a person marks it). A matched one states its answers as a case-insensitive
    mapping and in processing as ``qti-string-match case-sensitive="false"``, because
    examvault's matching ignores case. ``max_chars`` and ``step`` have no QTI field and are
    not written.
    """
    marks = resolve_marking(question["marking"])
    item = _root("qti-assessment-item", identifier=qti_id(question["id"]), title=question["id"])
    item.set("adaptive", "false")
    item.set("time-dependent", "false")
    answers: list[str] = list(question.get("answer") or [])
    declaration = SubElement(
        item,
        "qti-response-declaration",
        {"identifier": "RESPONSE", "cardinality": "single", "base-type": "string"},
    )
    if answers:
        SubElement(SubElement(declaration, "qti-correct-response"), "qti-value").text = answers[0]
        mapping = SubElement(
            declaration,
            "qti-mapping",
            {"default-value": _value_text(marks.wrong), "case-sensitive": "false"},
        )
        for text in answers:
            SubElement(
                mapping,
                "qti-map-entry",
                {"map-key": text, "mapped-value": _value_text(marks.correct)},
            )
    for name, default in (("SCORE", "0"), ("MAXSCORE", _value_text(marks.correct))):
        outcome = SubElement(
            item,
            "qti-outcome-declaration",
            {"identifier": name, "cardinality": "single", "base-type": "float"},
        )
        if name == "SCORE" and not answers:
            outcome.set("normal-maximum", _value_text(marks.correct))
        SubElement(SubElement(outcome, "qti-default-value"), "qti-value").text = default
    body = SubElement(item, "qti-item-body")
    _body_text(body, question["text"])
    tag = "qti-text-entry-interaction" if answers else "qti-extended-text-interaction"
    SubElement(SubElement(body, "div"), tag, {"response-identifier": "RESPONSE"})
    if answers:
        condition = SubElement(
            SubElement(item, "qti-response-processing"), "qti-response-condition"
        )
        branch = SubElement(condition, "qti-response-if")
        _response(SubElement(branch, "qti-is-null"))
        _score(_set_score(branch), marks.unanswered)
        branch = SubElement(condition, "qti-response-else-if")
        either = SubElement(branch, "qti-or")
        for text in answers:
            match = SubElement(either, "qti-string-match", {"case-sensitive": "false"})
            _response(match)
            SubElement(match, "qti-base-value", {"base-type": "string"}).text = text
        _score(_set_score(branch), marks.correct)
        _score(_set_score(SubElement(condition, "qti-response-else")), marks.wrong)
    return _document(item)


def item_xml(question: Mapping[str, Any], shuffle_options: bool) -> bytes:
    """One question as a QTI 3.0 assessment item."""
    if question["type"] == "text":
        return _text_item(question)
    kind, answer = question["type"], question["answer"]
    item = _root("qti-assessment-item", identifier=qti_id(question["id"]), title=question["id"])
    item.set("adaptive", "false")
    item.set("time-dependent", "false")
    numeric = kind == "numeric"
    attrs = {
        "identifier": "RESPONSE",
        "cardinality": "multiple" if kind == "multiple" else "single",
        "base-type": "float" if numeric else "identifier",
    }
    correct = SubElement(
        SubElement(item, "qti-response-declaration", attrs), "qti-correct-response"
    )
    if numeric:
        value = (
            (parse_mark(answer["min"]) + parse_mark(answer["max"])) / 2
            if "min" in answer
            else parse_mark(answer["value"])
        )
        keys = [decimal_text(value)]
    else:
        keys = [qti_id(k) for k in ([answer] if isinstance(answer, str) else answer)]
        keys = keys if kind == "multiple" else keys[:1]
    for key in keys:
        SubElement(correct, "qti-value").text = key
    maxscore = resolve_marking(question["marking"]).correct
    for name, default in (("SCORE", "0"), ("MAXSCORE", _value_text(maxscore))):
        outcome = SubElement(
            item,
            "qti-outcome-declaration",
            {"identifier": name, "cardinality": "single", "base-type": "float"},
        )
        SubElement(SubElement(outcome, "qti-default-value"), "qti-value").text = default
    body = SubElement(item, "qti-item-body")
    _body_text(body, question["text"])
    if numeric:
        SubElement(
            SubElement(body, "div"),
            "qti-text-entry-interaction",
            {"response-identifier": "RESPONSE"},
        )
    else:
        interaction = SubElement(
            body,
            "qti-choice-interaction",
            {
                "response-identifier": "RESPONSE",
                "shuffle": "true" if shuffle_options else "false",
                "max-choices": "1" if kind == "single" else "0",
            },
        )
        for option in question["options"]:
            choice = SubElement(interaction, "qti-simple-choice", identifier=qti_id(option["id"]))
            if isinstance(option["text"], Mapping):
                _copy(richtext.author_tree(option["text"]["html"]), choice)
            else:
                _lines(choice, option["text"])
    _processing(item, question)
    return _document(item)


def _document(root: Element) -> bytes:
    text = tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode()


def test_xml(definition: Mapping[str, Any]) -> bytes:
    """The assessment test: sections in order, referring to ``items/<id>.xml``."""
    test = _root(
        "qti-assessment-test", identifier=qti_id(definition["id"]), title=words(definition["title"])
    )
    outcome = SubElement(
        test,
        "qti-outcome-declaration",
        {"identifier": "SCORE", "cardinality": "single", "base-type": "float"},
    )
    SubElement(SubElement(outcome, "qti-default-value"), "qti-value").text = "0"
    SubElement(test, "qti-time-limits", {"max-time": str(definition["duration_seconds"])})
    part = SubElement(
        test,
        "qti-test-part",
        {
            "identifier": "examvault-part",
            "navigation-mode": "nonlinear",
            "submission-mode": "simultaneous",
        },
    )
    shuffle = bool(definition.get("shuffle", {}).get("questions"))
    for section in definition["sections"]:
        element = SubElement(
            part,
            "qti-assessment-section",
            identifier=qti_id(section["id"]),
            title=words(section.get("title") or section["id"]),
            visible="true",
        )
        if section.get("draw") is not None:  # a pool: QTI's selection comes before ordering
            SubElement(element, "qti-selection", select=str(section["draw"]))
        if shuffle:
            SubElement(element, "qti-ordering", shuffle="true")
        for question in section["questions"]:
            SubElement(
                element,
                "qti-assessment-item-ref",
                identifier=qti_id(question["id"]),
                href=f"items/{question['id']}.xml",
            )
    total = SubElement(
        SubElement(
            SubElement(test, "qti-outcome-processing"), "qti-set-outcome-value", identifier="SCORE"
        ),
        "qti-sum",
    )
    SubElement(total, "qti-test-variables", {"variable-identifier": "SCORE"})
    return _document(test)


def manifest_xml(definition: Mapping[str, Any]) -> bytes:
    """The content package manifest listing the test and its items."""
    manifest = Element(
        "manifest", {"xmlns": CP_NS, "identifier": f"MANIFEST-{qti_id(definition['id'])}"}
    )
    metadata = SubElement(manifest, "metadata")
    SubElement(metadata, "schema").text = "QTI Package"
    SubElement(metadata, "schemaversion").text = "3.0.0"
    SubElement(manifest, "organizations")
    resources = SubElement(manifest, "resources")
    test = SubElement(
        resources, "resource", identifier="RES-TEST", type="imsqti_test_xmlv3p0", href=TEST_FILE
    )
    SubElement(test, "file", href=TEST_FILE)
    for section in definition["sections"]:
        for question in section["questions"]:
            href = f"items/{question['id']}.xml"
            rid = f"RES-{question['id']}"
            SubElement(test, "dependency", identifierref=rid)
            item = SubElement(
                resources, "resource", identifier=rid, type="imsqti_item_xmlv3p0", href=href
            )
            SubElement(item, "file", href=href)
            for name in shown_media(question):
                SubElement(item, "file", href=MEDIA_DIR + name)
    return _document(manifest)


def write(definition: Mapping[str, Any], media: Mapping[str, bytes] | None = None) -> bytes:
    """The exam as a QTI 3.0 package (zip bytes), deterministic for the same definition.

    ``media`` are the pictures the markup shows, by name; each goes in as ``media/NAME``.
    """
    files = {"imsmanifest.xml": manifest_xml(definition), TEST_FILE: test_xml(definition)}
    for name in sorted(media or {}):
        files[MEDIA_DIR + name] = (media or {})[name]
    shuffle_options = bool(definition.get("shuffle", {}).get("options"))
    for section in definition["sections"]:
        for question in section["questions"]:
            files[f"items/{question['id']}.xml"] = item_xml(question, shuffle_options)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)),
                content,
                zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()
