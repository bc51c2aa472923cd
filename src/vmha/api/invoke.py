"""The AWS Lambda Invoke API (``POST /2015-03-31/functions/{name}/invocations``), for boto3's lambda client.

``X-Amz-Invocation-Type``: ``RequestResponse`` (default) runs the function and answers 200 with its output;
``Event`` records the execution, answers 202 and runs it on the pool; ``DryRun`` only checks the call (204).
A function error (an exception, a timeout) is still 200, with ``X-Amz-Function-Error: Unhandled`` and
Lambda's error payload. Requests must carry a SigV4 signature made with a Keystone EC2 credential
(``vmha.api.sigv4``); API errors carry ``X-Amzn-ErrorType`` so botocore raises the matching exception.
Only the unqualified function (or ``Qualifier=$LATEST``) exists.
"""

from __future__ import annotations

from collections.abc import Mapping

import webob

from vmha.api.executions import checked_call
from vmha.api.functions import Functions
from vmha.api.web import ApiError, parse_json, read_body, reply
from vmha.journal import ExecutionStatus

LATEST = "$LATEST"
_KINDS = ("RequestResponse", "Event", "DryRun")


class Invocations:
    """The invoke route."""

    def __init__(self, functions: Functions, limit: int) -> None:
        self._functions = functions
        self._limit = limit

    def invoke(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in _KINDS:
            raise ApiError(400, f"X-Amz-Invocation-Type must be one of {', '.join(_KINDS)}",
                           "InvalidParameterValueException")
        if request.GET.get("Qualifier", LATEST) != LATEST:
            raise ApiError(404, f"Function not found: {params['name']}:{request.GET['Qualifier']}")
        call = checked_call(self._functions, params["name"], _payload(read_body(request, self._limit), self._limit))
        if kind == "DryRun":
            return reply(204)
        record = self._functions.execute(call, sync=kind == "RequestResponse")
        headers = {"X-Amz-Executed-Version": LATEST, "X-Amzn-RequestId": record.id}
        if kind == "Event":
            return reply(202, None, headers)
        output = dict(record.output or {})
        if record.status is ExecutionStatus.FAILED:
            headers["X-Amz-Function-Error"] = "Unhandled"
            output["requestId"] = record.id
        return reply(200, output, headers)


def _payload(data: bytes, limit: int) -> dict[str, object]:
    event = parse_json(data or b"{}", limit, "Could not parse request body into json")
    if not isinstance(event, dict):
        raise ApiError(400, "the payload must be a JSON object")
    return event
