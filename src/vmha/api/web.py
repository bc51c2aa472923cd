"""HTTP plumbing shared by the routes: one error type, JSON replies, bounded body reading, error shapes.

Each route family answers errors the way its clients parse them: Masakari's ``{"badRequest": {"code": 400,
"message": ...}}``, Lambda's ``X-Amzn-ErrorType`` header with ``{"Type": "User", "message": ...}``, and a
plain ``{"error": {"code", "message"}}`` elsewhere.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import webob

from vmha.contracts import ContractError
from vmha.contracts.validation import load_json

_MASAKARI_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
                   405: "badMethod", 406: "notAcceptable", 409: "conflict", 413: "overLimit",
                   415: "badMediaType", 500: "internalServerError"}
_AWS_CODES = {400: "InvalidRequestContentException", 403: "InvalidSignatureException",
              404: "ResourceNotFoundException", 405: "InvalidRequestContentException",
              413: "RequestTooLargeException", 500: "ServiceException"}


class Family(Enum):
    """Whose error shape a route answers with."""

    PLAIN = "plain"
    MASAKARI = "masakari"
    LAMBDA = "lambda"


class ApiError(Exception):
    """A request refused with ``status`` and a message for the caller; ``code`` overrides the AWS error code."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> webob.Response:
    """A JSON response (no body for None)."""
    response = webob.Response(status=status, headers=headers or {})
    if body is not None:
        response.content_type = "application/json"
        response.charset = None
        response.body = json.dumps(body).encode()
    else:
        response.content_type = None
    return response


def error_reply(family: Family, error: ApiError) -> webob.Response:
    """``error`` in the shape of ``family``."""
    if family is Family.MASAKARI:
        name = _MASAKARI_NAMES.get(error.status, "computeFault")
        return reply(error.status, {name: {"code": error.status, "message": error.message}})
    if family is Family.LAMBDA:
        code = error.code or _AWS_CODES.get(error.status, "ServiceException")
        return reply(error.status, {"Type": "User" if error.status < 500 else "Service", "message": error.message},
                     {"X-Amzn-ErrorType": code})
    return reply(error.status, {"error": {"code": error.status, "message": error.message}})


def read_body(request: webob.Request, limit: int) -> bytes:
    """The request body, refused with 413 beyond ``limit`` bytes (before reading it when the length is given)."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body of {request.content_length} bytes is larger than {limit} bytes")
    data = request.body_file_raw.read(limit + 1) if request.content_length is None else request.body
    if len(data) > limit:
        raise ApiError(413, f"request body is larger than {limit} bytes")
    return data


def read_object(request: webob.Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object; 400 naming the problem otherwise."""
    data = read_body(request, limit)
    if not data.strip():
        raise ApiError(400, "the request body must be a JSON object, got nothing")
    document = parse_json(data, limit, "malformed request body")
    if not isinstance(document, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {type(document).__name__}")
    return document


def parse_json(data: bytes | str, limit: int, what: str) -> Any:
    """``data`` as JSON (bounded in size and depth: ``vmha.contracts.validation.load_json``); ApiError 400
    starting with ``what`` otherwise."""
    try:
        return load_json(data, limit)
    except ContractError as error:
        raise ApiError(400, f"{what}: {error}") from error
