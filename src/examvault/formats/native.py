"""Our own exam files, JSON and YAML: the exam definition document of docs/api.md as it is.

Numbers stay exact both ways. JSON is read with ``parse_float=Decimal``; YAML with
``yaml.safe_load``'s rules through a loader whose floats become ``Decimal`` (and whose
timestamps stay strings, since ``opens_at``/``closes_at`` are RFC 3339 strings, not
datetimes). On the way out, Decimals are written in plain notation, never through float.

Safety limits beyond the upload size: a document may hold at most 200,000 values once
YAML aliases are followed (an alias "bomb" expands without limit otherwise, and a
self-referencing alias never ends); nesting too deep for the parser is refused; and a
decimal beyond ±1e100 is refused (``_marks.bounded``: its exact value would be huge).
``version`` and ``key_version``, which ``GET /exams/{id}`` adds, are dropped so that a
downloaded definition can be imported again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from ._draft import Malformed
from ._marks import bounded

MAX_VALUES = 200_000
SERVER_FIELDS = ("version", "key_version")


class _ExactLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s rules, but floats are exact Decimals and times stay text."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        value = Decimal(text.replace("_", ""))
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a finite decimal number", node.start_mark
        )
    return value


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_ExactLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


class _ExactDumper(yaml.SafeDumper):
    """``yaml.safe_dump`` that writes Decimals as plain-notation numbers."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    if value == value.to_integral_value():
        return dumper.represent_int(int(value))
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


_ExactDumper.add_representer(Decimal, _represent_decimal)


def _count_values(document: object) -> None:
    stack, seen = [document], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise Malformed("document", f"holds more than {MAX_VALUES} values; refused")
        if isinstance(value, Decimal) and not bounded(value):
            raise Malformed("document", f"the number {value:.3e} is out of range (±1e100)")
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def load(data: bytes, fmt: str) -> dict[str, Any]:
    """The definition document held in a JSON or YAML file (not yet validated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Malformed("document", f"not UTF-8 text (byte {exc.start})") from None
    try:
        if fmt == "json":
            document = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        else:
            document = yaml.load(text, Loader=_ExactLoader)  # a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise Malformed(f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None) or str(exc)
        raise Malformed(where, f"not valid YAML: {problem}") from None
    except (RecursionError, ValueError) as exc:
        raise Malformed("document", f"cannot be read: {exc}") from None
    if not isinstance(document, dict):
        raise Malformed("document", "an exam file must hold one exam definition object")
    _count_values(document)
    return {k: v for k, v in document.items() if k not in SERVER_FIELDS}


def _json(value: object, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot write a number that is not finite")
        return format(value, "f")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = (
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_json(v, depth + 1)}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{_json(v, depth + 1)}" for v in value) + f"\n{pad}]"
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def dump(definition: Mapping[str, Any], fmt: str) -> bytes:
    """The definition as a UTF-8 JSON or YAML file, numbers written exactly."""
    if fmt == "json":
        return (_json(definition, 0) + "\n").encode()
    text = yaml.dump(
        _plain(definition),
        Dumper=_ExactDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return text.encode()


def _plain(value: object) -> object:
    """Copy mappings and tuples into dicts and lists, which the YAML dumper knows."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
