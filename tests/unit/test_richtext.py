"""Rich text (src/examvault/domain/richtext.py): what is refused and named, what a
candidate receives, and a fuzz of hostile markup that must never reach a page as script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain import richtext
from examvault.domain.richtext import MarkupError, render


def test_allowed_markup_is_re_serialised_with_its_media() -> None:
    out = render(
        '<p>A <b>block</b> of mass \\(m\\)</p><img src="media:incline.png" alt="An incline"'
        ' width="240" height="150"><table><tr><th colspan="2">t</th></tr></table>'
        "<ul><li><sub>1</sub><sup>2</sup></li></ul><pre>\\(kept\\)</pre>"
    )
    assert out.html == (
        '<p>A <b>block</b> of mass <math display="inline"><mrow><mi>m</mi></mrow></math></p>'
        '<img src="media:incline.png" alt="An incline" width="240" height="150">'
        '<table><tbody><tr><th colspan="2">t</th></tr></tbody></table>'
        "<ul><li><sub>1</sub><sup>2</sup></li></ul><pre>\\(kept\\)</pre>"
    )
    assert out.media == ("incline.png",)


def test_display_math_and_mathml_written_directly() -> None:
    assert render("\\[x\\]").html == '<math display="block"><mrow><mi>x</mi></mrow></math>'
    written = '<math xmlns="http://www.w3.org/1998/Math/MathML"><mfrac><mn>1</mn><mn>2</mn></mfrac></math>'
    assert render(written).html == "<math><mfrac><mn>1</mn><mn>2</mn></mfrac></math>"
    # TeX's "<" and "&" are text of the formula, not markup.
    assert render("\\(a &lt; b\\)").html == (
        '<math display="inline"><mrow><mi>a</mi><mo>&lt;</mo><mi>b</mi></mrow></math>'
    )


def test_sloppy_but_harmless_markup_is_closed_as_a_browser_would() -> None:
    assert render("<p>unclosed <b>bold <i>x").html == "<p>unclosed <b>bold <i>x</i></b></p>"
    assert render("a &lt;script&gt; b").html == "a &lt;script&gt; b"
    assert render("<pre>\n\nx</pre>").html == "<pre>\n\nx</pre>"


@pytest.mark.parametrize(
    ("markup", "named"),
    [
        ("<script>alert(1)</script>", "<script>"),
        ("<p onclick=alert(1)>x</p>", "'onclick' of <p>"),
        ('<p style="color:red">x</p>', "'style' of <p>"),
        ('<span class="x">x</span>', "'class' of <span>"),
        ('<a href="https://x.test">x</a>', "<a>"),
        ("<iframe src=x></iframe>", "<iframe>"),
        ("<object data=x></object>", "<object>"),
        ("<svg><circle/></svg>", "<svg>"),
        ("<style>p{}</style>", "<style>"),
        ('<img src="x.png" alt="x">', "media:NAME"),
        ('<img src="javascript:alert(1)" alt="x">', "media:NAME"),
        ('<img src="media:../x" alt="x">', "media:NAME"),
        ('<img src="media:a.png">', "alt"),
        ('<img src="media:a.png" alt="  ">', "alt"),
        ('<img src="media:a.png" alt="a" onerror="x()">', "'onerror' of <img>"),
        ('<td width="1">', None),  # a stray cell is dropped by every parser, as by ours
        ('<img src="media:a.png" alt="a" width="100%">', "'width' of <img>"),
        ('<math href="javascript:alert(1)"><mi>x</mi></math>', "'href' of <math>"),
        ('<math><mi xlink:href="javascript:x">x</mi></math>', "'xlink:href' of <mi>"),
        ("<math><mtext><b>x</b></mtext></math>", "<b> is not allowed inside <math>"),
        ("<math><annotation-xml><p>x</p></annotation-xml></math>", "<annotation-xml>"),
        ("<math><mglyph></mglyph></math>", "<mglyph>"),
        ('<math mathbackground="url(javascript:x)"><mi>x</mi></math>', "'mathbackground'"),
        ("<!-- hidden -->", "comment"),
        ("\\(\\ce{H2O}\\)", "\\ce"),
        ("\\(\\href{javascript:alert(1)}{x}\\)", "'href'"),
        ("\\(\\style{color:red}{x}\\)", "'style'"),
        ("an open \\( formula", "\\( is not closed"),
        ("\\(x^\\)", "cannot be converted"),
    ],
)
def test_anything_outside_the_list_is_refused_by_name(markup: str, named: str | None) -> None:
    if named is None:
        render(markup)
        return
    with pytest.raises(MarkupError, match=re.escape(named)):
        render(markup)


def test_the_limit_is_in_utf8_bytes() -> None:
    render("é" * 32_000)
    with pytest.raises(MarkupError, match="65536 bytes"):
        render("€" * 22_000)  # 22,000 characters, 66,000 bytes


def test_plain_text_keeps_the_words_and_the_latex() -> None:
    assert richtext.plain_text("<b>Mock</b>  \\(x^2\\)") == "Mock \\(x^2\\)"


class _Elements(HTMLParser):
    """A second, unrelated parser (the standard library's) reading our output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


_ALLOWED = richtext.HTML_ELEMENTS | richtext.MATHML_ELEMENTS
_PIECES = [
    "<script>alert(1)</script>", "<script", "</script>", "<scr<script>ipt>", "<p>", "</p>",
    "<b>", "<i>", "<table>", "<tr>", "<td>", "</table>", "<caption>", "<img src=media:a.png alt=a>",
    '<img src="javascript:alert(1)" alt=x>', "<img src=x onerror=alert(1)>", "<a href=javascript:x>",
    '<p onclick="x">', "<svg onload=alert(1)>", "<math>", "</math>", "<mi>", "<mtext>",
    "<mglyph>", "<style>", "</style>", "<annotation-xml encoding=text/html>", '<math href="javascript:x">',
    '<mi xlink:href="javascript:x">', "<iframe srcdoc='<script>x</script>'>", "<template>",
    "<noscript>", "<textarea>", "<title>", "<xmp>", "<plaintext>", "<select>", "<option>",
    "<form action=javascript:x>", "<object data=javascript:x>", "<embed src=x>", "<base href=x>",
    "<meta http-equiv=refresh>", "<!--", "-->", "<![CDATA[", "]]>", "</", "<", ">", "&lt;script&gt;",
    "&#x3C;script&#x3E;", "&#106;avascript:", "java\tscript:", "&amp;", "&", '"', "'", "=",
    "\\(", "\\)", "\\[x\\]", "\\(x^2\\)", "\\(\\href{javascript:x}{y}\\)", "\\(\\text{<script>}\\)",
    "<pre>", "<code>", "\x00", "\n", " ", "text", "<br>", "<div>", "<blockquote>", "<ul><li>",
]  # fmt: skip
nasty = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(alphabet="<>/&;#=\"' abcdeimnoprstx:", max_size=6)),
    max_size=25,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(nasty)
def test_no_hostile_markup_reaches_a_page_as_script(markup: str) -> None:
    try:
        out = render(markup).html
    except MarkupError:
        return
    reader = _Elements()
    reader.feed(out)
    reader.close()
    for tag, attrs in reader.tags:
        assert tag in _ALLOWED, (markup, out)
        for name, value in attrs:
            assert not name.startswith("on") and name not in {"href", "xlink:href", "style"}
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            assert "javascript:" not in squeezed, (markup, out)
            if tag == "img" and name == "src":
                assert squeezed.startswith("media:")
    assert "<script" not in out.lower() and "<!--" not in out
    # What we send is what we checked: read back, it is the same, and it survives ammonia.
    assert render(out).html == out
    assert richtext._NH3.clean(out).count("<") <= out.count("<")


_JAVASCRIPT = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x", "java\tscript:x",
    "&#106;avascript:x", "&#x6A;avascript&colon;x", "jav&#x09;ascript:x", "\x01javascript:x",
    "data:text/html,<script>x</script>", "media:a.png", "url(javascript:x)", "1", "red",
]  # fmt: skip
_ATTRIBUTES = [
    "src", "alt", "width", "height", "colspan", "rowspan", "href", "xlink:href", "style",
    "onerror", "onload", "onclick", "formaction", "srcdoc", "background", "mathcolor",
    "mathbackground", "alttext", "display", "mathvariant", "class", "id", "xmlns",
]  # fmt: skip


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    # Allowed elements only (the other fuzz brings the rest), mostly HTML outside <math>
    # and MathML inside, so that a good share is accepted and its output checked.
    inside = draw(st.sampled_from(sorted(richtext.MATHML_ELEMENTS - {"math"})))
    outside = draw(st.sampled_from(sorted(richtext.HTML_ELEMENTS | {"math"})))
    name = inside if depth and draw(st.booleans()) else outside
    attrs = draw(
        st.lists(st.tuples(st.sampled_from(_ATTRIBUTES), st.sampled_from(_JAVASCRIPT)), max_size=2)
    )
    quoted = "".join(f' {a}="{v}"' for a, v in attrs)
    inner = draw(_element(depth + 1)) if depth < 3 and draw(st.booleans()) else "x"
    return f"<{name}{quoted}>{inner}</{name}>"


@settings(max_examples=600, deadline=None)
@given(st.lists(_element(), min_size=1, max_size=4).map("".join))
def test_javascript_in_any_attribute_of_any_element_never_survives(markup: str) -> None:
    try:
        out = render(markup).html
    except MarkupError as exc:
        assert "<" in str(exc) or "'" in str(exc)  # it names an element or an attribute
        return
    reader = _Elements()
    reader.feed(out)
    reader.close()
    for tag, attrs in reader.tags:
        for name, value in attrs:
            assert name in richtext.MATHML_ATTRIBUTES | {"src", "alt", "colspan", "rowspan"}
            if name in {"alt", "alttext"}:
                continue  # words for a reader, never a URL or a script
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            assert "javascript" not in squeezed and "data:" not in squeezed, (tag, name, out)
            assert name != "src" or squeezed.startswith("media:")
