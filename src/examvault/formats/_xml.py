"""Reading XML and zip packages from untrusted uploads, safely.

XML goes through ``defusedxml.ElementTree`` with DTDs forbidden outright: none of the
formats we read needs one, and refusing them closes entity expansion ("billion laughs")
and external entities in one stroke. Zip packages are checked before anything is
unpacked: at most 20 MiB uncompressed in total (by the sizes the archive declares, and
reads are capped at those sizes, so a lying header cannot inflate past them), at most
2,000 members, no encrypted members, and no member name that is absolute or climbs out
of the package (``..``, backslashes, drive letters). Nothing is written to disk. Elements
nested more than 100 deep are refused too, so that no reader ever recurses too far.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from ._draft import Malformed

MAX_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 2000
MAX_DEPTH = 100  # QTI and Moodle XML nest a few dozen levels at most


def local(tag: str) -> str:
    """An element or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, where: str) -> Element:
    """Parse one XML document safely; Malformed (naming ``where`` and the line) otherwise."""
    if len(data) > MAX_BYTES:
        raise Malformed(where, "the XML document is larger than 20 MiB")
    try:
        root: Element = safe_et.fromstring(data, forbid_dtd=True)
    except ParseError as exc:
        line = exc.position[0]
        raise Malformed(f"{where}, line {line}", f"not well-formed XML: {exc.msg}") from None
    except DefusedXmlException:
        raise Malformed(where, "XML with a DTD or entity declarations is refused") from None
    except LookupError as exc:
        raise Malformed(where, f"the XML declares an unknown encoding: {exc}") from None
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Malformed(where, f"elements are nested more than {MAX_DEPTH} deep; refused")
        stack.extend((child, depth + 1) for child in element)
    return root


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def qti_names(element: Element) -> Element:
    """A copy of a QTI tree with QTI 2.x names: ``qti-choice-interaction`` → ``choiceInteraction``.

    QTI 3.0 renamed every element and attribute to kebab case with a ``qti-`` prefix and
    changed the namespace; reading both versions through one vocabulary keeps one code path.
    """
    tag = local(element.tag)
    if tag.startswith("qti-"):
        tag = _camel(tag[4:])
    copy = Element(tag, {_camel(local(k)): v for k, v in element.attrib.items()})
    copy.text, copy.tail = element.text, element.tail
    copy.extend(qti_names(child) for child in element)
    return copy


def _member_name(name: str) -> str:
    if "\\" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise Malformed(name, "a member path is absolute; refused")
    if ".." in name.split("/"):
        raise Malformed(name, "a member path leaves the package; refused")
    return posixpath.normpath(name)


def read_zip(data: bytes) -> dict[str, bytes]:
    """The files of a zip package by normalised path, after the checks described above."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise Malformed("package", "not a valid zip file") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise Malformed("package", f"holds more than {MAX_MEMBERS} files")
        total = 0
        names = []
        for info in infos:
            names.append(_member_name(info.filename))
            if info.flag_bits & 0x1:
                raise Malformed(info.filename, "the member is encrypted")
            total += info.file_size
            if total > MAX_BYTES:
                raise Malformed("package", "unpacks to more than 20 MiB; refused")
        members: dict[str, bytes] = {}
        for name, info in zip(names, infos, strict=True):
            try:
                with archive.open(info) as handle:
                    content = handle.read(info.file_size + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
                raise Malformed(info.filename, "the member cannot be read") from None
            if len(content) > info.file_size:
                raise Malformed(info.filename, "the member is larger than declared")
            members[name] = content
    return members


def resolve_href(base: str, href: str) -> str:
    """A package path for ``href`` relative to the file ``base``; Malformed if it leaves it."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", href) or href.startswith("/"):
        raise Malformed(base, f"refers to {href!r} outside the package")
    joined = posixpath.normpath(
        posixpath.join(posixpath.dirname(base), unquote(href.split("#")[0]))
    )
    if joined == ".." or joined.startswith("../"):
        raise Malformed(base, f"refers to {href!r} outside the package")
    return joined
