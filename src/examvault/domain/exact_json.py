"""JSON with exact numbers: how definitions, key changes and audit details are stored.

A mark of 0.1 must come back as 0.1, not 0.1000000000000000055: numbers with a point or
an exponent are read as `Decimal` and written with exactly their digits.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


def dumps(doc: Any) -> str:
    """JSON with Decimals written with exactly their digits."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return orjson.Fragment(str(value))
        raise TypeError(type(value).__name__)

    return orjson.dumps(doc, default=default).decode()


# One decoder for every read: `json.loads` with an option builds a new one each call,
# and every save reads its question's stored answer back through here.
_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(text: str) -> Any:
    """Read stored JSON, numbers with a point or exponent as Decimal."""
    return _DECODER.decode(text)
