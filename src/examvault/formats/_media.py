"""An import's pictures: one name per picture across the exam, and the exam's media limit.

Each reader names a picture after its file (``circuit a.png`` → ``circuit_a.png``), per
item. Two items may show different pictures of the same name (Moodle keeps each
question's files apart, so two questions may each have an ``image.png``): the first keeps
the name, a later one with other bytes gets ``image-2.png`` and its markup is rewritten to
match. The same bytes under the same name are one medium, shown by both.

Media are stored with the exam (docs/api.md, Media): 2 MiB each (checked as each picture
is read, ``_text.medium``) and 50 MiB per exam, checked here so that an import that would
pass it is refused naming the item that does, before anything is stored.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from examvault.domain import media as rules
from examvault.domain import richtext
from examvault.domain.exams import media_uses, parse_definition

from ._draft import Medium


@dataclass
class Bank:
    """The media of one import, by their names in the exam."""

    media: dict[str, Medium] = field(default_factory=dict)
    total: int = 0
    limit: int = rules.MAX_EXAM_BYTES

    def add(self, question: dict[str, Any], found: Iterable[Medium]) -> tuple[Medium, ...]:
        """Name each picture of ``question`` uniquely in the exam; its markup follows."""
        kept: list[Medium] = []
        for picture in found:
            name = self._name_for(picture)
            if name != picture.name:
                _rename(question, picture.name, name)
                picture = Medium(name, picture.data, picture.content_type)
            if name not in self.media:
                self.media[name] = picture
                self.total += len(picture.data)
            kept.append(picture)
        return tuple(kept)

    def over_limit(self) -> bool:
        """Whether the media gathered so far pass the per-exam limit."""
        return self.total > self.limit

    def _name_for(self, picture: Medium) -> str:
        stem, ext = posixpath.splitext(picture.name)
        name, n = picture.name, 1
        while name in self.media and self.media[name].data != picture.data:
            n += 1
            suffix = f"-{n}{ext}"
            name = stem[: 128 - len(suffix)] + suffix
        return name


def _rename(question: dict[str, Any], old: str, new: str) -> None:
    """Point the question's markup at the picture's new name."""
    fields = [question, *(question.get("options") or [])]
    for holder in fields:
        text = holder.get("text")
        if isinstance(text, dict):
            holder["text"] = {"html": text["html"].replace(f'"media:{old}"', f'"media:{new}"')}


def shown_media(question: Mapping[str, Any]) -> tuple[str, ...]:
    """The media a question's markup shows, each once, in order (none where the markup is
    refused: validation names that)."""
    fields = [question.get("text")]
    fields += [o.get("text") for o in question.get("options") or [] if isinstance(o, Mapping)]
    names: list[str] = []
    for value in fields:
        if isinstance(value, Mapping) and isinstance(value.get("html"), str):
            with contextlib.suppress(richtext.MarkupError):
                names += richtext.render(value["html"]).media
    return tuple(dict.fromkeys(names))


_NOT_HELD = "which the file does not hold"


def missing_media(
    definition: Mapping[str, Any], held: Iterable[Medium], fmt: str, bundled: bool
) -> list[dict[str, Any]]:
    """A medium the (valid) definition shows that the file should hold but does not, named
    by the question that shows it.

    A plain JSON/YAML document holds no files: its media may be uploaded apart (before or
    after, docs/api.md), so only a bundle and the other formats must hold theirs.
    """
    if fmt in ("json", "yaml") and not bundled:
        return []
    names = {m.name for m in held}
    return [
        {
            "loc": ["media", name],
            "msg": f"{whose}: shows media:{name}, which the file does not hold",
        }
        for name, whose in media_uses(parse_definition(definition)).items()
        if name not in names
    ]


def words(value: Any) -> str:
    """A title as text: a plain string as it is, rich text as its words (a format's title
    is text)."""
    return value if isinstance(value, str) else richtext.plain_text(value["html"])
