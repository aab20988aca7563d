"""Rich text: an exam's formatted markup, checked, converted and re-serialised (pure).

A text field of a definition is a plain string or `{"html": …}` (docs/exam-format.md,
"Rich text"). The markup is parsed the way a browser parses it (html5lib follows the
WHATWG algorithm, foreign content and all), every element and attribute is checked
against one allow-list, and anything outside it is *refused*, by name: an author must
know what the candidate will not see, so nothing is ever stripped silently. LaTeX between
`\\(` `\\)` or `\\[` `\\]` becomes MathML here, when the exam is stored.

What a candidate receives is never the author's bytes: it is a re-serialisation of the
tree this module parsed and checked, and that output must come back unchanged from nh3
(ammonia) run with the same allow-list, a second, independent sanitiser. docs/decisions.md
says why these libraries.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

import html5lib
import latex2mathml.converter
import nh3
from html5lib import serializer, treewalkers

MAX_MARKUP_BYTES = 65_536
MEDIA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

XHTML = "http://www.w3.org/1999/xhtml"
MATHML = "http://www.w3.org/1998/Math/MathML"
TEX = "application/x-tex"
_XMLNS = "http://www.w3.org/2000/xmlns/"
_PREFIXES = {
    "http://www.w3.org/1999/xlink": "xlink:",
    "http://www.w3.org/XML/1998/namespace": "xml:",
    _XMLNS: "xmlns:",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


HTML_ELEMENTS = _words(
    "p br b strong i em u sub sup span div ul ol li table thead tbody tr th td caption pre "
    "code blockquote img"
)
# MathML Core's elements (https://w3c.github.io/mathml-core/#mathml-elements-and-attributes)
# and `menclose`, which latex2mathml writes for \cancel and \boxed (a browser without it
# shows the content as an mrow). `annotation-xml` is left out: it may hold HTML, the
# classic way markup changes meaning between a sanitiser and a browser.
MATHML_ELEMENTS = _words(
    "math annotation semantics merror mfrac mi mmultiscripts mn mo mover mpadded mphantom "
    "mprescripts mroot mrow ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr "
    "munder munderover none menclose"
)
# MathML's presentation attributes (Core's global and element attributes, and those of
# tables and menclose that latex2mathml writes). No href, no style, no class, no event.
MATHML_ATTRIBUTES = _words(
    "dir displaystyle mathbackground mathcolor mathsize mathvariant scriptlevel display "
    "alttext form fence separator lspace rspace stretchy symmetric maxsize minsize largeop "
    "movablelimits accent accentunder linethickness width height depth voffset columnspan "
    "rowspan columnalign rowalign columnspacing rowspacing columnlines rowlines frame "
    "framespacing equalrows equalcolumns notation align columnwidth encoding"
)
HTML_ATTRIBUTES: dict[str, frozenset[str]] = {
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
_NUMBER = re.compile(r"[0-9]{1,5}")
# A MathML attribute value is a length, a name, a colour or a few words; `(` and `:`
# (url(), javascript:) never appear in one. alttext is free text and only escaped.
_MATH_VALUE = re.compile(r"[A-Za-z0-9#.%+\- ]{0,200}")
_FORMULA = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)
_UNCONVERTED = re.compile(r"\\[A-Za-z]+|\\.?")
_ENTITY = re.compile(r"&#x([0-9A-Fa-f]+);")
# Text inside these is literal: a `\(` in code is code.
_NO_MATH = frozenset({"pre", "code"})


class MarkupError(ValueError):
    """The markup holds something outside the allow-list; the message names it."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A field's markup as a candidate receives it, and the media it shows."""

    html: str
    media: tuple[str, ...]


def _parse(markup: str) -> ET.Element:
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=True)
    fragment: ET.Element = parser.parseFragment(markup, container="div")
    return fragment


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _attr_name(name: str) -> str:
    ns, local = _split(name)
    return _PREFIXES.get(ns, "") + local


@functools.lru_cache(maxsize=2048)
def render(markup: str) -> Rendered:
    """Check `markup`, convert its LaTeX, and re-serialise it; MarkupError names a fault.

    Cached: a definition is checked when it arrives and compiled again by each process
    that serves it, and the markup of one exam is the same each time.
    """
    if len(markup.encode("utf-8", "surrogatepass")) > MAX_MARKUP_BYTES:
        raise MarkupError(f"the markup is over {MAX_MARKUP_BYTES} bytes")
    root = _parse(markup)
    media: list[str] = []
    _check_children(root, in_math=False, media=media)
    _convert_math(root)
    out = _serialise(root)
    _second_opinion(out)
    return Rendered(out, tuple(dict.fromkeys(media)))


def _check_children(parent: ET.Element, *, in_math: bool, media: list[str]) -> None:
    for child in parent:
        _check(child, in_math=in_math, media=media)


def _check(el: ET.Element, *, in_math: bool, media: list[str]) -> None:
    if not isinstance(el.tag, str):  # a comment or a processing instruction
        raise MarkupError("a comment (<!-- … -->) is not allowed")
    ns, name = _split(el.tag)
    if ns == MATHML:
        if name not in MATHML_ELEMENTS or (name == "math") == in_math:
            raise MarkupError(f"element <{name}> is not allowed")
        _check_math_attributes(name, el)
        _check_children(el, in_math=True, media=media)
        return
    if ns != XHTML or name not in HTML_ELEMENTS:
        raise MarkupError(f"element <{name}> is not allowed")
    if in_math:
        raise MarkupError(f"element <{name}> is not allowed inside <math>")
    allowed = HTML_ATTRIBUTES.get(name, frozenset())
    for attr, value in el.attrib.items():
        shown = _attr_name(attr)
        if shown not in allowed:
            raise MarkupError(f"attribute {shown!r} of <{name}> is not allowed")
        if shown in {"width", "height", "colspan", "rowspan"} and not _NUMBER.fullmatch(value):
            raise MarkupError(f"attribute {shown!r} of <{name}> must be a whole number")
    if name == "img":
        media.append(_check_img(el))
    _check_children(el, in_math=False, media=media)


def _check_img(el: ET.Element) -> str:
    src = el.get("src", "")
    if not src.startswith("media:") or not MEDIA_NAME.fullmatch(src[6:]):
        raise MarkupError(f"<img src={src[:80]!r}> must name a medium of this exam as media:NAME")
    if not el.get("alt", "").strip():
        raise MarkupError(f"<img src={src!r}> needs a non-empty alt text")
    return src[6:]


def _check_math_attributes(name: str, el: ET.Element) -> None:
    for attr, value in list(el.attrib.items()):
        shown = _attr_name(attr)
        if name == "math" and shown in {"xmlns", "xmlns:xmlns"} and value == MATHML:
            # Meaningless in HTML (the parser already put <math> in MathML's namespace):
            # not written back, which changes nothing a reader or a browser sees.
            del el.attrib[attr]
            continue
        if shown not in MATHML_ATTRIBUTES:
            raise MarkupError(f"attribute {shown!r} of <{name}> is not allowed")
        if shown != "alttext" and not _MATH_VALUE.fullmatch(value):
            raise MarkupError(
                f"attribute {shown!r} of <{name}> has a value not allowed: {value[:40]!r}"
            )


def author_tree(markup: str) -> ET.Element:
    """The checked markup as a tree (XHTML and MathML namespaces) for a format with no TeX.

    Each LaTeX formula becomes MathML that keeps its source: a `semantics` holding the
    presentation and an `application/x-tex` annotation, MathML's own way to carry it, so
    that a reader of the file can give the author's TeX back (formats/qti.py does).
    """
    root = _parse(markup)
    _check_children(root, in_math=False, media=[])
    _convert_math(root, keep_tex=True)
    return root


def _convert_math(root: ET.Element, *, keep_tex: bool = False) -> None:
    """Replace each `\\( … \\)` and `\\[ … \\]` of the text with MathML, in place."""
    for el in list(_html_elements(root)):
        if el.text and "\\" in el.text:
            head, nodes = _formulas(el.text, keep_tex)
            el.text = head
            for i, node in enumerate(nodes):
                el.insert(i, node)
        for child in list(el):
            if child.tail and "\\" in child.tail:
                tail, nodes = _formulas(child.tail, keep_tex)
                child.tail = tail
                at = list(el).index(child) + 1
                for i, node in enumerate(nodes):
                    el.insert(at + i, node)


def _html_elements(root: ET.Element) -> Iterator[ET.Element]:
    yield root
    for child in root:
        if isinstance(child.tag, str):
            ns, name = _split(child.tag)
            if ns == XHTML and name not in _NO_MATH:
                yield from _html_elements(child)


def _formulas(text: str, keep_tex: bool = False) -> tuple[str, list[ET.Element]]:
    """Text split at its formulas: the text before the first, then each formula as a
    <math> element whose tail is the text after it."""
    pieces = _FORMULA.split(text)
    # split() gives: text, inline-or-None, display-or-None, text, …
    head = _no_stray_delimiter(pieces[0])
    nodes: list[ET.Element] = []
    for i in range(1, len(pieces), 3):
        inline, display = pieces[i], pieces[i + 1]
        tex = inline if inline is not None else display
        node = tex_to_mathml(tex, display is not None)
        if keep_tex:
            _annotate(node, tex)
        node.tail = _no_stray_delimiter(pieces[i + 2])
        nodes.append(node)
    return head, nodes


def _annotate(node: ET.Element, tex: str) -> None:
    """Wrap a <math>'s content in <semantics> with the TeX it was written as."""
    content = list(node)
    for child in content:
        node.remove(child)
    semantics = ET.SubElement(node, f"{{{MATHML}}}semantics")
    if len(content) == 1:
        semantics.append(content[0])
    else:
        row = ET.SubElement(semantics, f"{{{MATHML}}}mrow")
        row.extend(content)
    annotation = ET.SubElement(semantics, f"{{{MATHML}}}annotation", encoding=TEX)
    annotation.text = tex


def _no_stray_delimiter(text: str) -> str:
    for opener in ("\\(", "\\["):
        if opener in text:
            raise MarkupError(f"a formula opened with {opener} is not closed")
    return text


def tex_to_mathml(tex: str, display: bool) -> ET.Element:
    """One LaTeX formula as a checked <math> element; an unknown command → MarkupError."""
    try:
        converted = latex2mathml.converter.convert_to_element(
            tex, display="block" if display else "inline"
        )
    except Exception as exc:  # the converter raises many kinds; each means "cannot"
        why = str(exc) or type(exc).__name__
        raise MarkupError(f"the LaTeX {tex[:80]!r} cannot be converted ({why})") from None
    node = _adopt(converted)
    _check(node, in_math=False, media=[])
    if not len(node):
        raise MarkupError(f"the LaTeX {tex[:80]!r} is empty")
    return node


def _adopt(el: ET.Element) -> ET.Element:
    """latex2mathml's tree in MathML's namespace, its entity-escaped text decoded, and
    any LaTeX command it passed through as text refused by name."""
    node = ET.Element(f"{{{MATHML}}}{el.tag}", {k: v for k, v in el.attrib.items()})
    if el.text:
        text = _ENTITY.sub(lambda m: chr(int(m.group(1), 16)), el.text)
        if el.tag != "mtext" and (found := _UNCONVERTED.search(text)):
            raise MarkupError(f"the LaTeX command {found.group(0)} cannot be converted")
        node.text = text
    for child in el:
        node.append(_adopt(child))
    return node


_SERIALISER = serializer.HTMLSerializer(
    quote_attr_values="always",
    quote_char='"',
    omit_optional_tags=False,
    escape_lt_in_attrs=True,
    escape_rcdata=True,
    resolve_entities=False,
    minimize_boolean_attributes=False,
    use_trailing_solidus=False,
)
_WALKER = treewalkers.getTreeWalker("etree")


def _serialise(root: ET.Element) -> str:
    for pre in root.iter(f"{{{XHTML}}}pre"):
        # A parser drops the newline right after <pre>: one that is content is written
        # twice, as browsers serialise it, so that reading the output back keeps it.
        if pre.text and pre.text.startswith("\n"):
            pre.text = "\n" + pre.text
    return str(_SERIALISER.render(_WALKER(root)))


def _nh3_attributes() -> dict[str, set[str]]:
    attrs = {name: set(allowed) for name, allowed in HTML_ATTRIBUTES.items()}
    for name in MATHML_ELEMENTS:
        attrs[name] = set(MATHML_ATTRIBUTES)
    return attrs


_NH3 = nh3.Cleaner(
    tags=set(HTML_ELEMENTS | MATHML_ELEMENTS),
    attributes=_nh3_attributes(),
    url_schemes={"media"},
    link_rel=None,
    strip_comments=True,
)


# ammonia writes a <pre> whose text starts with a newline without the doubled newline a
# browser writes, so a reading of its output loses it: leading newlines of a <pre> are not
# compared (whitespace, never markup).
_PRE_NEWLINES = re.compile(r"<pre>\n+")


def _second_opinion(out: str) -> None:
    """Refuse what ammonia would change: our output must already be clean by its rules."""
    cleaned = _NH3.clean(out)
    if cleaned != out and _PRE_NEWLINES.sub("<pre>", _serialise(_parse(cleaned))) != (
        _PRE_NEWLINES.sub("<pre>", out)
    ):
        raise MarkupError("the markup does not survive sanitising unchanged")


def plain_text(markup: str) -> str:
    """The words of checked markup, for a place that shows text only (the exam list):
    tags dropped, LaTeX as written (its source reads better than a formula's letters)."""
    return " ".join("".join(_parse(markup).itertext()).split())
