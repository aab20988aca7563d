"""Our JSON/YAML exam with its pictures: a zip of ``exam.json`` (or ``exam.yaml``) and ``media/``.

A definition names its pictures (``media:NAME``) but cannot hold their bytes, so an exam
that shows pictures is exported as a zip: the definition as the plain export writes it,
at the top as ``exam.json`` or ``exam.yaml``, and each medium the markup shows as
``media/NAME`` (the exam's own name, unchanged). An exam without pictures is exported as
the plain document, as before. Importing the zip reads the definition as a JSON/YAML
import does and carries the files of ``media/``, each checked as a picture (PNG, JPEG,
GIF or WebP by its bytes, at most 2 MiB); a medium the markup shows that is not in the
zip refuses the import, naming the question. The zip is read with the package limits
(``_xml.read_zip``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from ._draft import Malformed, Medium, Unsupported
from ._text import medium
from ._xml import read_zip

FILES = {"exam.json": "json", "exam.yaml": "yaml", "exam.yml": "yaml"}
MEDIA_DIR = "media/"


def names(data: bytes) -> list[str]:
    """The member names of a zip, or none when it cannot be read (it is then not a bundle)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []


def is_bundle(data: bytes) -> bool:
    """Whether a zip is our exam bundle (an exam document at the top, no QTI manifest)."""
    members = names(data)
    return "imsmanifest.xml" not in members and any(name in FILES for name in members)


def read(data: bytes) -> tuple[bytes, str, tuple[Medium, ...]]:
    """(the definition's bytes, ``json`` or ``yaml``, the media) of a bundle."""
    members = read_zip(data)
    found = [name for name in FILES if name in members]
    if len(found) != 1:
        raise Malformed("package", "holds no exam.json or exam.yaml, or more than one")
    media: list[Medium] = []
    for path, content in sorted(members.items()):
        if not path.startswith(MEDIA_DIR):
            continue
        name = path[len(MEDIA_DIR) :]
        try:
            picture = medium(name, content)
        except Unsupported as exc:
            raise Malformed(path, exc.reason) from None
        if picture.name != name:
            raise Malformed(path, "is not named as a medium of an exam")
        media.append(picture)
    return members[found[0]], FILES[found[0]], tuple(media)


def write(document: bytes, fmt: str, media: Mapping[str, bytes]) -> bytes:
    """A bundle of a definition (already written as ``fmt``) and its media, by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _put(archive, f"exam.{fmt}", document)
        for name in sorted(media):
            _put(archive, MEDIA_DIR + name, media[name])
    return buffer.getvalue()


def _put(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # the same bytes each time
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
