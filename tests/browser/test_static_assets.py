"""The static pages keep to the Content-Security-Policy and work offline (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "src" / "examvault" / "web" / "static"
IMPORT = re.compile(r"""^import .*? from "\./([\w.-]+\.js)";$""", re.MULTILINE)


def imported_modules(entry: str) -> set[str]:
    """Every module `entry` needs, following its imports."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(IMPORT.findall((STATIC / name).read_text()))
    return seen


def test_the_service_worker_keeps_every_module_of_the_student_page() -> None:
    precached = set(re.findall(r'"/static/([\w.-]+)"', (STATIC / "sw.js").read_text()))
    assert imported_modules("exam.js") <= precached
    assert "style.css" in precached


def test_pages_have_no_inline_script_style_or_handler() -> None:
    for page in ["index.html", "admin.html", "mark.html"]:
        html = (STATIC / page).read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), page
        assert "<style" not in html, page
        assert not re.search(r"\sstyle=", html), page
        assert not re.search(r"\son[a-z]+=", html), page
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert ".innerHTML" not in text, script.name  # text is never read as HTML
        assert not re.search(r"\.style\b|setAttribute\(\"style\"", text), script.name
