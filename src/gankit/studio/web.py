"""What every page's routes share: JSON request bodies and one-line JSON errors."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gankit.errors import ConfigError, GankitError, first_line

log = logging.getLogger("gankit")
MAX_JSON_BYTES = 1_000_000
"""Largest JSON request without an upload."""


def error_response(exc: Exception, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": first_line(exc)}, status_code=status)


async def json_body(request: Request, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The request's JSON object. Only ``application/json`` is taken, so no other site's form can post here."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ConfigError("send the request as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ConfigError(f"the request is larger than {max_bytes / 1e6:g} MB")
    raw = await request.body()
    if len(raw) > max_bytes:
        raise ConfigError(f"the request is larger than {max_bytes / 1e6:g} MB")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ConfigError("the request is not valid JSON") from None
    if not isinstance(body, dict):
        raise ConfigError("the request must be a JSON object")
    return body


def guarded(handler):
    """Turn a GankitError into one line of JSON (400) and anything else into one line (500)."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except GankitError as exc:
            return error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the browser gets one line; the server log gets the rest
            log.exception("studio: %s %s failed", request.method, request.url.path)
            return error_response(RuntimeError(f"internal error: {first_line(exc)}"), status=500)

    return wrapper


def png_data_url(image, scale: int = 1) -> str:
    """A uint8 image (C, H, W) as a ``data:image/png;base64,...`` URL (the page shows and downloads it)."""
    from gankit.edit.media import png_bytes

    return data_url(png_bytes(image, scale), "image/png")


def data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_url(text: str) -> bytes:
    """The bytes of a ``data:...;base64,`` URL (or of bare base64); one line when it is not base64."""
    import binascii

    payload = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("upload: the image data is not base64") from None


__all__ = ["MAX_JSON_BYTES", "data_url", "decode_data_url", "error_response", "guarded", "json_body", "png_data_url"]
