"""Question text from HTML, QTI's XHTML and Moodle's formats: carried whole, or refused by name.

An import never loses content silently (docs/formats.md). Every text a reader meets goes
through one :class:`TextBuilder`, which produces a :class:`Content`: the plain text, the
same content as markup of the allowed list (``p br b strong i em u sub sup span div ul ol
li table thead tbody tr th td caption pre code blockquote img`` and MathML), the pictures
that markup names (``media:NAME``), and what only that markup can carry (a picture, a
formula, a table, formatting).

:meth:`Content.value` chooses the field: the plain string when plain text carries all of
it (paragraphs and line breaks are lines), else ``{"html": markup}`` — checked here with
the domain's own ``richtext.render``, so that markup the exam would refuse refuses its
item, by name, rather than the whole file. Anything outside the allowed markup (a
``style`` or ``class`` attribute, a ``<h2>``, a ``<font>``) refuses the item: stripping it
would lose it silently. TeX between ``\\(`` ``\\)``, ``\\[`` ``\\]`` or ``$$`` ``$$`` is
a formula: it is kept as LaTeX (``$$…$$`` written ``\\[…\\]``), which the domain turns
into MathML when the exam is stored, so ``GET /exams/{id}`` gives the TeX as written.

Refused because no examvault text can hold them: links (``<a href>``), audio, video,
objects that are not pictures, frames, forms, SVG, and ruby annotations
(``<ruby>``/``<rt>``/``<rp>``): ruby is not in the allowed markup, and flattening it runs
the reading into the text (北海道ほっかいどう), so it is refused rather than guessed at.

Plain-text rules (unchanged): block elements end a line; ``<sup>x</sup>`` → ``^x`` and
``<sub>x</sub>`` → ``_x`` (parenthesised when longer: ``10^(-3)``); entities decoded;
``script``/``style`` content dropped; then :func:`normalize`: whitespace runs within a
line collapsed, lines stripped, empty lines dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from examvault.domain import richtext

from ._draft import Medium, Unsupported

# A definition's text field: a plain string or {"html": markup}.
Field = str | dict[str, str]

BLOCK = frozenset(
    (
        "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5",
        "h6", "tr", "table", "thead", "tbody", "tfoot", "blockquote", "pre", "hr", "section",
        "article", "header", "footer", "aside", "nav", "figure", "figcaption", "caption",
        "address",
    )
)  # fmt: skip
ALLOWED = frozenset(
    (
        "p", "br", "b", "strong", "i", "em", "u", "sub", "sup", "span", "div", "ul", "ol",
        "li", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "code",
        "blockquote", "img",
    )
)  # fmt: skip
# Elements no examvault text can hold: the item is refused, naming what it holds.
REFUSED = {
    "audio": "audio",
    "video": "a video",
    "source": "audio or video",
    "track": "audio or video",
    "embed": "an embedded object",
    "object": "an embedded object",
    "applet": "an applet",
    "iframe": "a frame",
    "frame": "a frame",
    "frameset": "a frame",
    "canvas": "a canvas",
    "svg": "an SVG drawing",
    "picture": "a <picture> element",
    "map": "an image map",
    "area": "an image map",
    "input": "a form control",
    "select": "a form control",
    "textarea": "a form control",
    "button": "a form control",
    "ruby": "ruby annotations (<ruby>/<rt>)",
    "rt": "ruby annotations (<ruby>/<rt>)",
    "rp": "ruby annotations (<ruby>/<rt>)",
}
DROPPED = frozenset(("script", "style", "head", "title"))
VOID = frozenset(("br", "img", "hr"))
MEDIA_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
MAX_MEDIUM = 2 * 1024 * 1024
# Elements whose meaning plain text would lose: their text needs the markup.
FORMATTING = frozenset(
    ("b", "strong", "i", "em", "u", "sub", "sup", "ul", "ol", "table", "pre", "code",
     "blockquote")
)  # fmt: skip
_TEX = re.compile(r"\\\(|\\\[")
_DISPLAY_DOLLARS = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_MEDIA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


Resolver = Callable[[str], Medium]


def no_files(src: str) -> Medium:
    """The resolver of a format that holds no files (GIFT): every picture is refused."""
    raise Unsupported(f"shows a picture ({src}) that the file cannot hold")


def medium(name: str, data: bytes) -> Medium:
    """A picture's bytes checked as the media rules ask: PNG, JPEG, GIF or WebP, ≤ 2 MiB."""
    kind = next((t for magic, t in MEDIA_TYPES.items() if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "image/webp"
    if kind is None:
        raise Unsupported(f"shows a picture ({name}) that is not PNG, JPEG, GIF or WebP")
    if len(data) > MAX_MEDIUM:
        raise Unsupported(f"shows a picture ({name}) larger than 2 MiB")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    fitted = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).lstrip("_.-")[:128]
    if not _MEDIA_NAME.fullmatch(fitted):
        fitted = "picture"
    return Medium(fitted, data, kind)


@dataclass(frozen=True)
class Content:
    """One text as read: plain text, the same as allowed markup, its pictures, and its needs.

    ``needs`` names what plain text cannot carry ("a picture (incline.png)", "a MathML
    formula", "a table", formatting); empty when the plain text is the whole content.
    ``strays`` names what the allowed markup cannot hold (a ``style`` attribute, a
    ``<h2>``): the item is refused rather than have them stripped silently.
    """

    text: str
    markup: str
    media: tuple[Medium, ...] = ()
    needs: tuple[str, ...] = ()
    strays: tuple[str, ...] = ()

    def value(self) -> Field:
        """The definition's field: plain text, ``{"html": …}`` (rich text), or a refusal."""
        if self.strays:
            shown = ", ".join(dict.fromkeys(self.strays))
            raise Unsupported(f"contains {shown}, which the allowed markup does not hold")
        if not self.needs:
            return self.text
        try:
            richtext.render(self.markup)
        except richtext.MarkupError as exc:
            raise Unsupported(f"holds markup examvault cannot carry: {exc}") from None
        return {"html": self.markup}


class Carrier:
    """Turns the contents of one item into its fields, gathering the pictures they show."""

    def __init__(self) -> None:
        self.media: dict[str, Medium] = {}

    def field(self, content: Content) -> Field:
        """The field of ``content`` (Unsupported when it cannot be carried); its media kept."""
        value = content.value()
        if isinstance(value, dict):
            for found in content.media:
                known = self.media.setdefault(found.name, found)
                if known.data != found.data:
                    raise Unsupported(f"shows two different pictures named {found.name}")
        return value

    @property
    def found(self) -> tuple[Medium, ...]:
        """The item's media, each once, in the order first shown."""
        return tuple(self.media.values())


def plain(text: str) -> Content:
    """Content of a plain text (no markup in it)."""
    return Content(normalize(text), escape(text, quote=False))


def normalize(text: str) -> str:
    """Collapse whitespace within each line, strip lines and drop empty ones."""
    lines = (re.sub(r"\s+", " ", line).strip() for line in re.split(r"\r\n|\r|\n", text))
    return "\n".join(line for line in lines if line)


def refuse_element(tag: str) -> None:
    """Raise :class:`Unsupported` for an element no examvault text can hold."""
    raise Unsupported(f"contains {REFUSED.get(tag, f'<{tag}> content')}, which cannot be carried")


_LEFT = re.compile(r"\s*text-align\s*:\s*(?:left|start)\s*;?\s*", re.IGNORECASE)


def restates_default(name: str, value: str | None) -> bool:
    """Whether an attribute only restates what the page shows anyway: Moodle's editors
    write ``dir="ltr" style="text-align: left;"`` on every paragraph. Leaving those out
    loses nothing (the page is left-to-right and left-aligned); any other ``dir`` or
    ``style`` would change what is seen, and refuses the item."""
    if name == "dir":
        return (value or "").strip().lower() == "ltr"
    return name == "style" and bool(_LEFT.fullmatch(value or ""))


class TextBuilder:
    """Builds a :class:`Content` from start/end/data events, shared by HTML and QTI."""

    def __init__(self, resolve: Resolver = no_files, *, tex_in_text: bool = True) -> None:
        """`tex_in_text`: TeX delimiters in character data are formulas (HTML of Moodle and
        GIFT, whose sites render TeX in text); QTI says False: its formulas are MathML,
        and text that happens to hold ``\\(`` is text."""
        self._resolve = resolve
        self._tex_in_text = tex_in_text
        self._chunks: list[str] = []
        self._markup: list[str] = []
        self._marks: list[tuple[str, int]] = []
        self._dropping = 0
        self._math = 0
        self._literal = 0  # inside <pre> or <code>: text, never TeX
        self.media: list[Medium] = []
        self.needs: list[str] = []
        self.strays: list[str] = []

    def start(self, tag: str, attrs: Mapping[str, str | None] | None = None) -> None:
        """An element opens."""
        attrs = attrs or {}
        if self._math:
            self._math += 1
            self._markup.append(f"<{tag}{_attributes(attrs, mathml=True)}>")
        elif tag in DROPPED:
            self._dropping += 1
        elif tag == "math":
            self._math = 1
            self.needs.append("a MathML formula")
            self._markup.append(f"<math{_attributes(attrs, mathml=True)}>")
        elif tag == "a" and attrs.get("href") is not None:
            raise Unsupported(f"contains a link ({attrs['href']}), which cannot be carried")
        elif tag in ("img", "image"):
            self.picture(attrs.get("src") or "", attrs.get("alt"), attrs)
        elif tag in REFUSED:
            refuse_element(tag)
        else:
            if tag == "table":
                self.needs.append("a table")
            elif tag in FORMATTING:
                self.needs.append(f"formatting (<{tag}>)")
            if tag in BLOCK:
                self._chunks.append("\n")
            if tag in ("sup", "sub"):
                self._marks.append((tag, len(self._chunks)))
            if tag in ("pre", "code"):
                self._literal += 1
            if tag in ALLOWED:
                self._markup.append(f"<{tag}{_attributes(attrs)}>")
                kept = ("colspan", "rowspan") if tag in ("td", "th") else ()
                self.strays += [
                    f"a {name} attribute on <{tag}>"
                    for name, value in attrs.items()
                    if name not in kept and not restates_default(name, value)
                ]
            elif tag != "a":  # an anchor without href is only its text
                self.strays.append(f"<{tag}>")

    def end(self, tag: str) -> None:
        """An element closes."""
        if self._math:
            self._math -= 1
            self._markup.append(f"</{tag}>")
        elif tag in DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in ("img", "image"):
            pass
        else:
            if tag in ("pre", "code"):
                self._literal = max(0, self._literal - 1)
            if tag in BLOCK:
                self._chunks.append("\n")
            elif tag in ("sup", "sub") and self._marks and self._marks[-1][0] == tag:
                _, start = self._marks.pop()
                inner = re.sub(r"\s+", " ", "".join(self._chunks[start:])).strip()
                del self._chunks[start:]
                if inner:
                    sign = "^" if tag == "sup" else "_"
                    self._chunks.append(sign + (inner if len(inner) == 1 else f"({inner})"))
            if tag in ALLOWED and tag not in VOID:
                self._markup.append(f"</{tag}>")

    def data(self, text: str) -> None:
        """Character data; TeX in it (outside MathML) makes it a formula for the markup."""
        if self._dropping:
            return
        self._chunks.append(text)
        if not self._math and not self._literal and self._tex_in_text:
            text = _DISPLAY_DOLLARS.sub(r"\\[\1\\]", text)
            if _TEX.search(text):
                self.needs.append("a formula")
        self._markup.append(escape(text, quote=False))

    def picture(
        self, src: str, alt: str | None, attrs: Mapping[str, str | None] | None = None
    ) -> None:
        """A picture: resolved to a medium of the file, or the item is refused naming it.

        ``width`` and ``height`` in whole pixels are kept; any other attribute (a ``style``,
        a size in percent) is one the allowed markup does not hold.
        """
        found = self._resolve(src)
        if not (alt or "").strip():
            raise Unsupported(f"shows a picture ({src}) with no alt text, which is required")
        self.media.append(found)
        self.needs.append(f"a picture ({found.name})")
        size = ""
        for name, value in (attrs or {}).items():
            if name in ("src", "alt"):
                continue
            if name in ("width", "height") and re.fullmatch(r"[0-9]{1,5}", value or ""):
                size += f' {name}="{value}"'
            else:
                self.strays.append(f"a {name} attribute on <img>")
        self._markup.append(f'<img src="media:{found.name}" alt="{escape(alt or "")}"{size}>')

    def tex(self, source: str, display: bool) -> None:
        """A formula written in TeX (read back from a MathML annotation): kept as TeX."""
        opened, closed = ("\\[", "\\]") if display else ("\\(", "\\)")
        if self._dropping:
            return
        self._chunks.append(f"{opened}{source}{closed}")
        self.needs.append("a formula")
        self._markup.append(escape(f"{opened}{source}{closed}", quote=False))

    def content(self) -> Content:
        """What was gathered, as :class:`Content`."""
        markup = "".join(self._markup).strip()
        return Content(
            normalize("".join(self._chunks)),
            markup,
            tuple(self.media),
            tuple(self.needs),
            tuple(self.strays),
        )


def _attributes(attrs: Mapping[str, str | None], *, mathml: bool = False) -> str:
    """Attributes the markup keeps; ``href`` in MathML is a link and refuses the item."""
    kept = []
    for name, value in attrs.items():
        if name in ("href", "xlink:href") or name.endswith("}href"):
            raise Unsupported(f"contains a link ({value}), which cannot be carried")
        mathml_own = mathml and not name.startswith("on") and name not in ("style", "class")
        if mathml_own or name in ("colspan", "rowspan"):
            kept.append(f' {name}="{escape(value or "")}"')
    return "".join(kept)


class _HTMLReader(HTMLParser):
    def __init__(self, resolve: Resolver) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = TextBuilder(resolve)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.builder.start(tag.lower(), dict(attrs))
        if tag.lower() in VOID:  # a void element: no end tag will follow
            self.builder.end(tag.lower())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.builder.start(tag.lower(), dict(attrs))
        self.builder.end(tag.lower())

    def handle_endtag(self, tag: str) -> None:
        if tag.lower() not in VOID:
            self.builder.end(tag.lower())

    def handle_data(self, data: str) -> None:
        self.builder.data(data)


def html_content(html: str, resolve: Resolver = no_files) -> Content:
    """The :class:`Content` of an HTML fragment; Unsupported for what cannot be carried."""
    reader = _HTMLReader(resolve)
    reader.feed(html)
    reader.close()
    return reader.builder.content()


_MARKDOWN = MarkdownIt("commonmark")


def markdown_content(text: str, resolve: Resolver = no_files) -> Content:
    """Markdown (CommonMark, HTML let through as Moodle does) read as its HTML."""
    return html_content(_MARKDOWN.render(text), resolve)


def moodle_content(text: str, resolve: Resolver = no_files) -> Content:
    """Moodle's auto-format: HTML let through, each line break a ``<br>``; an autolink
    (``<https://…>``) is a link, refused quoting it."""
    if found := _AUTOLINK.search(text):
        end = text.find(">", found.start())
        shown = (
            text[found.start() : end + 1]
            if 0 <= end - found.start() < 100
            else text[found.start() : found.start() + 80]
        )
        raise Unsupported(f"contains a link ({shown}), which cannot be carried")
    lines = re.split(r"\r\n|\r|\n", text.strip())
    return html_content("<br>".join(lines), resolve)


# A link or picture in text that is not HTML: Markdown's [text](url) and ![alt](src), an
# autolink <https://…>, or an HTML link or media tag (Moodle and Markdown let HTML through).
# Found in time linear in the text (an upload may hold a 10 MiB line of "[" or "<a "): the
# patterns have no unbounded repetition, and a Markdown link is found by its "](".
_TEXT_TAG = re.compile(r"<\s?(?:a|img|audio|video|object|embed|iframe|source)\b", re.IGNORECASE)
_AUTOLINK = re.compile(r"<(?:https?|ftp|mailto):", re.IGNORECASE)
_LOOKBACK = 200


def _markdown_link(text: str) -> int | None:
    at = text.find("](")
    while at >= 0:
        start = text.rfind("[", max(0, at - _LOOKBACK), at)
        if start >= 0:
            return start - 1 if start and text[start - 1] == "!" else start
        at = text.find("](", at + 2)
    return None


def refuse_links(text: str) -> None:
    """Refuse a Markdown/Moodle-format text that links to or shows something it cannot hold."""
    found = [m.start() for m in (_TEXT_TAG.search(text), _AUTOLINK.search(text)) if m]
    if (markdown := _markdown_link(text)) is not None:
        found.append(markdown)
    if not found:
        return
    at = min(found)
    window = text[at : at + 100]
    end = min((i for i in (window.find(")"), window.find(">")) if i >= 0), default=-1)
    shown = window[: end + 1] if end >= 0 else window[:77] + "..."
    raise Unsupported(f"contains a link or media reference ({shown}), which cannot be carried")
