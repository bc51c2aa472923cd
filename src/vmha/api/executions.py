"""Qinling-style functions API: ``GET /v1/functions``, ``POST /v1/functions/{name}/executions``,
``GET /v1/functions/{name}/executions/{id}``.

An execution's body is ``{"input": <object, or a JSON text of one>, "sync": true|false}`` (sync by
default). A synchronous execution answers 201 once it ended, an asynchronous one 202 while it runs; both
with the execution: ``id``, ``function_name``, ``status`` (running, success, failed), ``sync``, ``input``,
``result`` (``{"duration": seconds, "output": ...}``, Qinling's shape) and times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from vmha.api.functions import Call, Functions, InvalidInputError, UnknownFunctionError
from vmha.api.progress import masakari_time
from vmha.api.web import ApiError, parse_json, read_object, reply
from vmha.journal import ExecutionRecord, Journal

_FIELDS = {"input", "sync", "description"}


def checked_call(functions: Functions, name: str, event: Mapping[str, Any]) -> Call:
    """``functions.prepare`` with its refusals as ApiError 404 and 400."""
    try:
        return functions.prepare(name, event)
    except UnknownFunctionError as error:
        raise ApiError(404, str(error)) from error
    except InvalidInputError as error:
        raise ApiError(400, str(error)) from error


def execution_view(record: ExecutionRecord) -> dict[str, Any]:
    result = None if record.output is None else {"duration": record.duration_seconds, "output": record.output}
    return {"id": record.id, "function_name": record.function, "status": record.status.value,
            "sync": record.sync, "input": record.input, "result": result,
            "created_at": masakari_time(record.created_at), "updated_at": masakari_time(record.updated_at)}


class Executions:
    """The function and execution routes."""

    def __init__(self, functions: Functions, journal: Journal, limit: int) -> None:
        self._functions = functions
        self._journal = journal
        self._limit = limit

    def functions(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return reply(200, {"functions": self._functions.catalogue()})

    def create(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        body = read_object(request, self._limit)
        extra = sorted(set(body) - _FIELDS)
        if extra:
            raise ApiError(400, f"unknown field {extra[0]!r}: an execution takes input, sync and description")
        sync = body.get("sync", True)
        if not isinstance(sync, bool):
            raise ApiError(400, "sync must be true or false")
        call = checked_call(self._functions, params["name"], _event(body.get("input"), self._limit))
        record = self._functions.execute(call, sync)
        return reply(201 if sync else 202, execution_view(record))

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        record = self._journal.get_execution(params["execution_id"])
        if record is None or record.function != params["name"]:
            raise ApiError(404, f"execution {params['execution_id']} of function {params['name']} not found")
        return reply(200, execution_view(record))


def _event(given: Any, limit: int) -> Mapping[str, Any]:
    if isinstance(given, str):
        given = parse_json(given, limit, "input is not JSON")
    if not isinstance(given, dict):
        raise ApiError(400, "input must be a JSON object (or a JSON text of one)")
    return given
