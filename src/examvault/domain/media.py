"""Media: what a picture of an exam may be (pure).

A picture is accepted only when its bytes are what its Content-Type says: the type a
browser will be told comes from the server, and the server never serves bytes it has
not recognised (docs/api.md, Media).
"""

from __future__ import annotations

import hashlib
import re

from examvault import errors

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_BYTES = 2 << 20
MAX_EXAM_BYTES = 50 << 20


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


_MAGIC = {
    "image/png": lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda d: d.startswith(b"\xff\xd8\xff"),
    "image/gif": lambda d: d[:6] in (b"GIF87a", b"GIF89a"),
    "image/webp": _is_webp,
}
TYPES = tuple(_MAGIC)


def check_type(content_type: str, data: bytes) -> str:
    """The media type of a picture, when its bytes match it; 415 otherwise."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    magic = _MAGIC.get(media_type)
    if magic is None:
        raise errors.UnsupportedMediaType(
            f"a medium is sent as one of {', '.join(TYPES)}, not {media_type or 'no type'!r}"
        )
    if not magic(data):
        raise errors.UnsupportedMediaType(f"the bytes are not {media_type}")
    return media_type


def sha256(data: bytes) -> str:
    """The digest that names a medium's bytes (its ETag)."""
    return hashlib.sha256(data).hexdigest()
