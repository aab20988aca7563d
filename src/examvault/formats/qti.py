"""IMS QTI 3.0 and 2.1 (2.2 too): a content package (zip with ``imsmanifest.xml``) or one item.

Both versions are read through one vocabulary (``_xml.qti_names``). A package with an
assessment test gives the exam its id, title, duration (the test's ``timeLimits
maxTime``, in seconds) and sections: every ``assessmentSection`` that holds items becomes
a section (nested sections are flattened, test parts are not sections). A package without
a test, or a single item file, gives one section of its items in manifest order. Item
ids come from the test's ``assessmentItemRef`` identifiers (else the item's), option ids
from ``simpleChoice`` identifiers; both are fitted to our id pattern (``_draft``), so the
``_1`` our exporter writes for an id starting with a digit reads back as ``1``.

What maps:

- ``choiceInteraction``: ``maxChoices="1"`` → ``single``, any other → ``multiple`` (the
  upper limit itself is not enforced, nor ``minChoices``);
- ``textEntryInteraction`` whose response has base type ``float`` or ``integer`` →
  ``numeric``: the accepted value or range and the marks come from the response
  processing (``_qti_rp``), e.g. ``equal`` with ``toleranceMode="absolute"``;
- ``textEntryInteraction`` of a ``string`` → a matched ``text`` question (the correct
  response and mapped strings scoring as much), ``extendedTextInteraction`` → a manual
  one out of ``SCORE``'s ``normalMaximum`` (else ``MAXSCORE``, else 1);
- marks as ``_qti_rp`` explains; a test ``weight`` used by the test's outcome processing
  multiplies the item's marks;
- ``shuffle="true"`` on every choice interaction (with no ``fixed`` choice) → shuffled
  options, ``ordering shuffle="true"`` on every section → shuffled questions;
- ``selection select="k"`` on a section of items → a pool, ``draw: k`` (the range and the
  one marking of a pool are checked with the definition).

Text is read by ``_text`` (carried whole or refused by name): ``img`` and ``object`` of an
image type in the package become media of the exam, MathML is kept (a ``math`` holding
``semantics`` with an ``application/x-tex`` annotation, as our export writes a formula the
author wrote in TeX, reads back as that TeX), tables and formatting are kept as markup;
links, audio, video, other objects and ruby are refused; prompts and body text are kept,
and a text entry inside a sentence leaves a ``_____`` blank there (one alone in its block
does not); feedback and rubric blocks are not carried, and the draft's notes say so.
Refused as unsupported, naming the item and its file: other interactions (matching,
ordering, drag-and-drop, hotspot…), several interactions in one item, items with no
interaction, adaptive or templated items, shared stimuli; routing
(``preCondition``/``branchRule``) on an item reference refuses that item, on a section or
test part every item under it — never ignored. A ``selection`` with replacement or over
nested sections is refused, and ``skip_unsupported`` ignores it (all items imported, in
order) and reports it as skipped. An item ``weight`` the test's outcome processing does
not use is reported in the draft's notes.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any
from xml.etree.ElementTree import Element

from examvault.domain.marking import parse_mark

from . import _qti_marks, _qti_rp
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
    no_progress,
)
from ._marks import manual_marking, mark_out
from ._text import Carrier, Field, Resolver, TextBuilder, medium, refuse_element
from ._xml import local, parse_xml, qti_names, read_zip, resolve_href

_SKIPPED_IN_TEXT = frozenset(
    ("feedbackInline", "feedbackBlock", "modalFeedback", "rubricBlock", "stylesheet")
)
_TEMPLATED = frozenset(("printedVariable", "templateInline", "templateBlock", "include"))
_INTERACTIONS = {
    "matchInteraction": "a matching question",
    "associateInteraction": "an association (matching) question",
    "gapMatchInteraction": "a drag-and-drop gap match",
    "graphicGapMatchInteraction": "a graphic drag-and-drop",
    "graphicAssociateInteraction": "a graphic association",
    "graphicOrderInteraction": "a graphic ordering question",
    "orderInteraction": "an ordering question",
    "hotspotInteraction": "a hotspot question",
    "hottextInteraction": "a hot-text question",
    "inlineChoiceInteraction": "an inline choice (cloze)",
    "selectPointInteraction": "a select-point question",
    "positionObjectInteraction": "a position-object question",
    "sliderInteraction": "a slider",
    "mediaInteraction": "a media interaction",
    "uploadInteraction": "a file upload",
    "drawingInteraction": "a drawing",
    "customInteraction": "a custom interaction",
    "portableCustomInteraction": "a portable custom interaction",
    "endAttemptInteraction": "an end-attempt button",
}


TEX_ENCODING = "application/x-tex"


def tex_source(math_el: Element) -> str | None:
    """The TeX a ``math`` element was written from, when it says so (our export's form)."""
    children = list(math_el)
    if len(children) != 1 or local(children[0].tag) != "semantics":
        return None
    for annotation in children[0]:
        if local(annotation.tag) == "annotation" and annotation.get("encoding") == TEX_ENCODING:
            return annotation.text or ""
    return None


def _holds_only(el: Element, interaction: Element) -> bool:
    """Whether ``el`` holds the interaction and nothing else (``<div><…Interaction/></div>``)."""
    return (
        len(el) == 1
        and el[0] is interaction
        and not (el.text or "").strip()
        and not (interaction.tail or "").strip()
    )


def _walk(el: Element, builder: TextBuilder, interaction: Element | None) -> None:
    builder.data(el.text or "")
    for child in el:
        if child.tag == "math" and (tex := tex_source(child)) is not None:
            builder.tex(tex, child.get("display") == "block")
        elif interaction is not None and _holds_only(child, interaction):
            _walk(child, builder, interaction)  # a box's wrapper is no text of its own
        elif child is interaction:
            if child.tag == "textEntryInteraction":
                # A blank inside a sentence is part of the text; a box on its own is not.
                if "".join(el.itertext()).strip():
                    builder.data("_____")
            elif (prompt := child.find("prompt")) is not None:
                builder.start("div")
                _walk(prompt, builder, None)
                builder.end("div")
        elif child.tag in _TEMPLATED:
            raise Unsupported("shows template variables (a templated item)")
        elif child.tag == "object":
            kind = child.get("type", "")
            if not kind.startswith("image/"):
                refuse_element("object")
            alt = " ".join("".join(child.itertext()).split()) or child.get("label")
            builder.picture(child.get("data", ""), alt)
        elif child.tag not in _SKIPPED_IN_TEXT:
            builder.start(child.tag, dict(child.attrib))
            _walk(child, builder, interaction)
            builder.end(child.tag)
        builder.data(child.tail or "")


def _flow_text(
    el: Element, resolve: Resolver, carrier: Carrier, interaction: Element | None = None
) -> Field:
    builder = TextBuilder(resolve, tex_in_text=False)
    _walk(el, builder, interaction)
    return carrier.field(builder.content())


def package_resolver(members: dict[str, bytes], path: str) -> Resolver:
    """Pictures of an item: files of its package, by a path relative to the item's file."""

    def resolve(src: str) -> Medium:
        try:
            href = resolve_href(path, src)
        except Malformed:
            raise Unsupported(f"shows a picture ({src}) that is not in the package") from None
        if href not in members:
            raise Unsupported(f"shows a picture ({src}) that is not in the package")
        return medium(href, members[href])

    return resolve


def _no_package(src: str) -> Medium:
    raise Unsupported(f"shows a picture ({src}); upload the whole package (zip) that holds it")


def _default_value(declaration: Element) -> str | None:
    default = declaration.find("defaultValue")
    value = None if default is None else default.find("value")
    return None if value is None else (value.text or "")


def _declaration(item: Element, response: str) -> _qti_rp.Declaration:
    found = [d for d in item.findall("responseDeclaration") if d.get("identifier") == response]
    if len(found) != 1:
        raise Unsupported(f"the response {response!r} is not declared once")
    decl = found[0]
    outcomes: dict[str, _qti_rp.Value] = {}
    for outcome in item.findall("outcomeDeclaration"):
        text = _default_value(outcome)
        numeric = outcome.get("baseType") in ("float", "integer")
        if text is not None and numeric:
            outcomes[outcome.get("identifier", "")] = _qti_rp.number(text, mark=True)
    correct = decl.find("correctResponse")
    values = (
        () if correct is None else tuple((v.text or "").strip() for v in correct.findall("value"))
    )
    mapping = decl.find("mapping")
    if decl.find("areaMapping") is not None:
        raise Unsupported("an area mapping (graphic response) cannot be mapped")
    bounds = {} if mapping is None else mapping.attrib
    return _qti_rp.Declaration(
        response=response,
        cardinality=decl.get("cardinality", "single"),
        base_type=decl.get("baseType", ""),
        correct=values,
        mapping=None
        if mapping is None
        else {
            (e.get("mapKey") or "").strip(): _qti_rp.number(e.get("mappedValue", ""), mark=True)
            for e in mapping.findall("mapEntry")
        },
        mapping_default=_qti_rp.number(bounds.get("defaultValue", "0"), mark=True),
        lower=None
        if "lowerBound" not in bounds
        else _qti_rp.number(bounds["lowerBound"], mark=True),
        upper=None
        if "upperBound" not in bounds
        else _qti_rp.number(bounds["upperBound"], mark=True),
        outcomes=outcomes,
    )


def read_item(
    item: Element, name: str | None = None, resolve: Resolver = _no_package
) -> tuple[DraftQuestion, bool | None]:
    """One assessment item as a question, and whether it asks to shuffle its options."""
    carrier = Carrier()
    question, shuffle = _read_item(item, name, resolve, carrier)
    return dataclasses.replace(question, media=carrier.found), shuffle


def _read_item(
    item: Element, name: str | None, resolve: Resolver, carrier: Carrier
) -> tuple[DraftQuestion, bool | None]:
    if item.tag != "assessmentItem":
        raise Malformed("item", f"<{item.tag}> is not an assessment item")
    qid = name or item.get("identifier") or ""
    if item.get("adaptive") == "true":
        raise Unsupported("an adaptive item (several attempts) cannot be mapped")
    if item.find("templateDeclaration") is not None or item.find("templateProcessing") is not None:
        raise Unsupported("a templated item (random values) cannot be mapped")
    if item.find("assessmentStimulusRef") is not None:
        raise Unsupported("refers to a shared stimulus, which cannot be carried over")
    body = item.find("itemBody")
    interactions = [] if body is None else [e for e in body.iter() if e.tag.endswith("Interaction")]
    if body is None or not interactions:
        raise Unsupported("has no interaction: there is nothing to answer")
    if len(interactions) > 1:
        raise Unsupported("holds several interactions; examvault has one answer per question")
    interaction = interactions[0]
    kind = interaction.tag
    if kind in _INTERACTIONS:
        raise Unsupported(f"{_INTERACTIONS[kind]} cannot be mapped")
    if kind not in ("choiceInteraction", "textEntryInteraction", "extendedTextInteraction"):
        raise Unsupported(f"<{kind}> cannot be mapped")
    if kind == "extendedTextInteraction":
        return _essay(item, body, qid, interaction, resolve, carrier), None
    decl = _declaration(item, interaction.get("responseIdentifier", ""))
    scorer = _qti_rp.Scorer(item.find("responseProcessing"), decl)
    text = _flow_text(body, resolve, carrier, interaction)
    if kind == "textEntryInteraction" and decl.base_type == "string":
        if decl.cardinality != "single":
            raise Unsupported("a text entry holding several strings cannot be mapped")
        answers, marking = _qti_marks.text_marks(scorer, item.find("responseDeclaration/mapping"))
        return DraftQuestion(qid, "text", text, (), answers, marking), None
    if kind == "textEntryInteraction":
        if decl.base_type not in ("float", "integer") or decl.cardinality != "single":
            raise Unsupported(f"a text entry of base type {decl.base_type!r} cannot be mapped")
        low, high, value = _qti_marks.accepted_range(item.find("responseProcessing"), scorer)
        marking = _qti_marks.numeric_marks(scorer, low, high)
        answer = _qti_marks.numeric_answer(low, high, value)
        return DraftQuestion(qid, "numeric", text, (), answer, marking), None
    if decl.base_type != "identifier":
        raise Unsupported(f"a choice response of base type {decl.base_type!r} cannot be read")
    choices = interaction.findall("simpleChoice")
    if not choices:
        raise Unsupported("the choice interaction has no choices")
    options = tuple((c.get("identifier", ""), _flow_text(c, resolve, carrier)) for c in choices)
    single = interaction.get("maxChoices", "1") == "1"
    if not single and decl.cardinality == "single":
        raise Unsupported("maxChoices allows several choices but the response holds one")
    key, marking = _qti_marks.choice_marks(scorer, [o[0] for o in options], single)
    shuffle = interaction.get("shuffle") == "true" and all(
        c.get("fixed") != "true" for c in choices
    )
    return DraftQuestion(
        qid, "single" if single else "multiple", text, options, key, marking
    ), shuffle


def _essay(
    item: Element,
    body: Element,
    qid: str,
    interaction: Element,
    resolve: Resolver,
    carrier: Carrier,
) -> DraftQuestion:
    """An extended text: a written answer a person marks.

    The maximum is the ``SCORE`` outcome's ``normalMaximum``, else a ``MAXSCORE`` default,
    else 1. A pattern the answer must match or several answer boxes are refused, not
    dropped; ``expectedLength`` is a hint for the box's size, not a limit, so it is not one.
    """
    if interaction.get("patternMask"):
        raise Unsupported("an extended text with a pattern mask cannot be mapped")
    if (
        interaction.get("maxStrings") not in (None, "1")
        or interaction.get("minStrings", "0") != "0"
    ):
        raise Unsupported("an extended text asking for several strings cannot be mapped")
    maximum = Fraction(1)
    for outcome in item.findall("outcomeDeclaration"):
        ident = outcome.get("identifier")
        if ident == "SCORE" and outcome.get("normalMaximum"):
            maximum = _qti_rp.number(outcome.get("normalMaximum", ""), mark=True)
            break
        default = outcome.find("defaultValue/value")
        if ident == "MAXSCORE" and default is not None and default.text:
            maximum = _qti_rp.number(default.text, mark=True)
    if maximum <= 0:
        raise Unsupported("the essay's maximum mark is not positive")
    text = _flow_text(body, resolve, carrier, interaction)
    return DraftQuestion(qid, "text", text, (), None, manual_marking(maximum))


def _scaled(question: DraftQuestion, factor: Fraction) -> DraftQuestion:
    marking = {
        k: mark_out(parse_mark(v) * factor) if k not in ("partial", "manual", "step") else v
        for k, v in question.marking.items()
    }
    return dataclasses.replace(question, marking=marking)


_ROUTING = ("preCondition", "branchRule")
_NOT_SHOWN = ("rubricBlock", "feedbackInline", "feedbackBlock", "modalFeedback")


def _not_shown(el: Element, name: str, what: str = "item") -> list[str]:
    """A note for what an item or section holds that examvault never shows: rubric
    blocks (for the candidate or for the scorer) and feedback. Left out, but said."""
    found = sorted({el2.tag for el2 in el.iter() if el2.tag in _NOT_SHOWN})
    if not found:
        return []
    kinds = ", ".join(f"<{tag}>" for tag in found)
    return [f"{what} {name!r}: its {kinds} not carried (examvault shows no rubric or feedback)"]


def _routing(el: Element) -> str | None:
    """The routing rules an item reference or container holds, as a reason to refuse it."""
    rules = [tag for tag in _ROUTING if el.find(tag) is not None]
    if not rules:
        return None
    return f"has {' and '.join(f'<{r}>' for r in rules)} (routing examvault does not do)"


class _TestReader:
    """Walks an assessment test, reading each referenced item from the package."""

    def __init__(
        self, members: dict[str, bytes], path: str, test: Element, progress: Progress
    ) -> None:
        self.members, self.path, self.test = members, path, test
        self.progress, self.done = progress, 0
        self.total = sum(1 for _ in test.iter("assessmentItemRef"))
        self.sections = Sections()
        self.notes: list[str] = []
        self.option_shuffles: list[bool] = []
        self.question_shuffles: list[bool] = []
        self.weights_used = {
            e.get("weightIdentifier") for e in test.iter() if e.get("weightIdentifier")
        }

    def visit(self, container: Element, routed: str | None = None) -> None:
        """Read the sections and item references under a test part or section.

        Routing on a container (``preCondition``, ``branchRule``) refuses every item under
        it: importing them without it would change which candidates see what.
        """
        if (rules := _routing(container)) is not None:
            routed = f"is in {container.get('identifier', '?')}, which {rules}"
        for child in container:
            if child.tag == "assessmentSection":
                if child.find("rubricBlock") is not None:
                    self.notes.append(
                        f"section {child.get('identifier', '?')!r}: its <rubricBlock> not "
                        "carried (examvault shows no rubric; put it in the section's "
                        "instructions)"
                    )
                if (selection := child.find("selection")) is not None:
                    self._selection(child, selection)
                ordering = child.find("ordering")
                self.question_shuffles.append(
                    ordering is not None and ordering.get("shuffle") == "true"
                )
                self.visit(child, routed)
            elif child.tag == "assessmentItemRef":
                self._item(container, child, routed)

    def _selection(self, section: Element, selection: Element) -> None:
        """A section's random subset: a pool (`draw`) when it is k of its own items."""
        count = selection.get("select", "?")
        nested = section.find("assessmentSection") is not None
        if (
            count.isdigit()
            and section.get("identifier")
            and not nested
            and selection.get("withReplacement", "false") != "true"
        ):
            self.sections.draw(section.get("identifier", ""), int(count))
            return
        how = " with replacement" if selection.get("withReplacement") == "true" else ""
        where = " of nested sections" if nested else ""
        self.sections.refuse(
            Problem(
                section.get("identifier", "?"),
                self.path,
                f"selects {count} of its items at random{how}{where}",
            )
        )

    def _item(self, section: Element, ref: Element, routed: str | None) -> None:
        self.done += 1
        self.progress(self.done, self.total)
        href = resolve_href(self.path, ref.get("href", ""))
        name = ref.get("identifier") or href
        if href not in self.members:
            raise Malformed(
                href, "is referred to by the test but missing from the package", item=name
            )
        item = qti_names(parse_xml(self.members[href], href))
        try:
            if (reason := _routing(ref) or routed) is not None:
                raise Unsupported(reason)
            question, shuffle = read_item(
                item, ref.get("identifier"), package_resolver(self.members, href)
            )
        except Unsupported as exc:
            raw = ref.get("identifier") or item.get("identifier") or ""
            self.sections.refuse(Problem(name, href, exc.reason, raw))
            return
        self.notes += _not_shown(item, name)
        for weight in ref.findall("weight"):
            value = weight.get("value", "1")
            if weight.get("identifier") in self.weights_used:
                question = _scaled(question, _qti_rp.number(value, mark=True))
            else:
                self.notes.append(
                    f"the weight {weight.get('identifier')!r} ({value}) on item {name!r} "
                    "is not used by the test's outcome processing: the item keeps its own marks"
                )
        if shuffle is not None:
            self.option_shuffles.append(shuffle)
        sid = section.get("identifier", "") if section.tag == "assessmentSection" else ""
        key = sid or DEFAULT_SECTION[0]
        title = section.get("title", "") if sid else DEFAULT_SECTION[1]
        self.sections.add(key, title or key, question)

    def draft(self) -> Draft:
        """The test as a draft exam."""
        for part in self.test.findall("testPart"):
            self.visit(part)
        fields: dict[str, Any] = {
            "shuffle": {
                "questions": bool(self.question_shuffles) and all(self.question_shuffles),
                "options": bool(self.option_shuffles) and all(self.option_shuffles),
            }
        }
        if title := self.test.get("title", "").strip():
            fields["title"] = title
        limits = self.test.find("timeLimits")
        if limits is not None and (max_time := limits.get("maxTime")):
            seconds = _qti_rp.number(max_time)
            if seconds > 0:
                fields["duration_seconds"] = math.ceil(seconds)
        return self.sections.draft(self.test.get("identifier"), fields, self.notes)


def _loose_items(members: dict[str, bytes], hrefs: list[str], progress: Progress) -> Draft:
    sections = Sections()
    shuffles: list[bool] = []
    notes: list[str] = []
    for done, href in enumerate(hrefs, start=1):
        progress(done, len(hrefs))
        item = qti_names(parse_xml(members[href], href))
        name = item.get("identifier") or href
        try:
            question, shuffle = read_item(item, None, package_resolver(members, href))
        except Unsupported as exc:
            sections.refuse(Problem(name, href, exc.reason, item.get("identifier") or ""))
            continue
        notes += _not_shown(item, name)
        if shuffle is not None:
            shuffles.append(shuffle)
        sections.add(DEFAULT_SECTION[0], DEFAULT_SECTION[1], question)
    fields = {"shuffle": {"options": bool(shuffles) and all(shuffles)}}
    return sections.draft(None, fields, notes)


def _package(data: bytes, progress: Progress) -> Draft:
    members = read_zip(data)
    if "imsmanifest.xml" not in members:
        raise Malformed("package", "has no imsmanifest.xml at its top level")
    manifest = parse_xml(members["imsmanifest.xml"], "imsmanifest.xml")
    tests, items = [], []
    for resource in manifest.iter():
        kind = resource.get("type", "")
        if local(resource.tag) != "resource" or not kind.startswith("imsqti_"):
            continue
        href = resolve_href("imsmanifest.xml", resource.get("href", ""))
        if href not in members:
            raise Malformed(href, "is listed in imsmanifest.xml but missing from the package")
        if kind.startswith("imsqti_test_xml"):
            tests.append(href)
        elif kind.startswith("imsqti_item_xml"):
            items.append(href)
    if len(tests) > 1:
        raise Malformed("imsmanifest.xml", f"lists {len(tests)} tests; import one at a time")
    if tests:
        test = qti_names(parse_xml(members[tests[0]], tests[0]))
        if test.tag != "assessmentTest":
            raise Malformed(tests[0], f"<{test.tag}> is not an assessment test")
        return _TestReader(members, tests[0], test, progress).draft()
    if not items:
        raise Malformed("imsmanifest.xml", "lists no QTI test or item")
    return _loose_items(members, items, progress)


def read(data: bytes, filename: str, progress: Progress = no_progress) -> Draft:
    """A QTI package (zip) or a single item file."""
    if data[:4] == b"PK\x03\x04":
        return _package(data, progress)
    root = qti_names(parse_xml(data, filename))
    if root.tag == "assessmentTest":
        raise Malformed(filename, "a test names its items by file: upload the whole package (zip)")
    if root.tag != "assessmentItem":
        raise Malformed(filename, f"<{root.tag}> is neither a QTI item nor a package")
    name = root.get("identifier") or filename
    sections = Sections()
    try:
        question, shuffle = read_item(root)
    except Unsupported as exc:
        sections.refuse(Problem(name, filename, exc.reason, root.get("identifier") or ""))
        return sections.draft()
    sections.add(DEFAULT_SECTION[0], DEFAULT_SECTION[1], question)
    fields: dict[str, Any] = {"shuffle": {"options": bool(shuffle)}}
    if title := root.get("title", "").strip():
        fields["title"] = title
    return sections.draft(None, fields, _not_shown(root, name))
