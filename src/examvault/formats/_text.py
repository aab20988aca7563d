"""Question text as plain text: HTML and QTI's XHTML flattened, whitespace normalised.

An examvault question's ``text`` is shown to candidates as plain text: the candidate page
labels options with it and must not run markup taken from an imported file. So readers
flatten markup here, by one set of rules:

- block elements (``p``, ``div``, ``br``, ``li``, headings, table rows…) end a line;
- ``<sup>x</sup>`` becomes ``^x`` and ``<sub>x</sub>`` ``_x`` (with parentheses when
  longer than one character: ``10^(-3)``), so ``x<sup>2</sup>`` does not read as ``x2``;
- entities are decoded; ``script`` and ``style`` content is dropped;
- content that plain text cannot carry (images, audio, video, objects, MathML, SVG,
  form controls, frames) makes the item unsupported rather than silently losing it.

:func:`normalize` is then applied to every text a reader produces, from any format: each
line has its whitespace runs collapsed to one space and is stripped, and empty lines are
dropped. Round trips through QTI and GIFT compare texts in this form.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ._draft import Unsupported

BLOCK = frozenset(
    (
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "caption",
        "address",
    )
)
MEDIA = frozenset(
    (
        "img",
        "image",
        "object",
        "embed",
        "audio",
        "video",
        "source",
        "track",
        "picture",
        "canvas",
        "svg",
        "math",
        "iframe",
        "frame",
        "frameset",
        "applet",
        "map",
        "area",
        "input",
        "select",
        "textarea",
        "button",
    )
)
DROPPED = frozenset(("script", "style", "head", "title"))
_MEDIA_NAMES = {"math": "a MathML formula", "svg": "an SVG drawing"}


def normalize(text: str) -> str:
    """Collapse whitespace within each line, strip lines and drop empty ones."""
    lines = (re.sub(r"\s+", " ", line).strip() for line in re.split(r"\r\n|\r|\n", text))
    return "\n".join(line for line in lines if line)


def refuse_media(tag: str) -> None:
    """Raise :class:`Unsupported` for an element plain text cannot carry."""
    what = _MEDIA_NAMES.get(tag, f"<{tag}> content")
    raise Unsupported(f"contains {what}, which a plain-text question cannot show")


class TextBuilder:
    """Accumulates flattened text from start/end/data events, shared by HTML and QTI."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._marks: list[tuple[str, int]] = []
        self._dropping = 0

    def start(self, tag: str) -> None:
        """An element opens."""
        if tag in DROPPED:
            self._dropping += 1
        elif tag in MEDIA:
            refuse_media(tag)
        elif tag in BLOCK:
            self._chunks.append("\n")
        elif tag in ("sup", "sub"):
            self._marks.append((tag, len(self._chunks)))

    def end(self, tag: str) -> None:
        """An element closes."""
        if tag in DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in BLOCK:
            self._chunks.append("\n")
        elif tag in ("sup", "sub") and self._marks and self._marks[-1][0] == tag:
            _, start = self._marks.pop()
            inner = re.sub(r"\s+", " ", "".join(self._chunks[start:])).strip()
            del self._chunks[start:]
            if inner:
                sign = "^" if tag == "sup" else "_"
                self._chunks.append(sign + (inner if len(inner) == 1 else f"({inner})"))

    def data(self, text: str) -> None:
        """Character data."""
        if not self._dropping:
            self._chunks.append(text)

    def text(self) -> str:
        """The normalised plain text gathered so far."""
        return normalize("".join(self._chunks))


class _HTMLFlattener(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = TextBuilder()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.builder.start(tag.lower())
        if tag.lower() == "br":  # a void element: no end tag will follow
            self.builder.end("br")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.builder.start(tag.lower())
        self.builder.end(tag.lower())

    def handle_endtag(self, tag: str) -> None:
        if tag.lower() != "br":
            self.builder.end(tag.lower())

    def handle_data(self, data: str) -> None:
        self.builder.data(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment by this module's rules; Unsupported for media."""
    if "@@PLUGINFILE@@" in html:
        raise Unsupported("refers to a file attached in Moodle, which cannot be carried over")
    flattener = _HTMLFlattener()
    flattener.feed(html)
    flattener.close()
    return flattener.builder.text()
