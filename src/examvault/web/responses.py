"""JSON responses written with orjson: fast, and able to embed stored JSON verbatim."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """`content` as JSON; bytes are taken as JSON already made (`live`'s answers)."""
        return content if isinstance(content, bytes) else orjson.dumps(content)


def body_schema(model: Any, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a body the route reads itself (see web/body.py)."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
