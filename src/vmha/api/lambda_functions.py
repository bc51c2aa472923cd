"""The AWS Lambda reads beside Invoke, for boto3, the AWS CLI and tools built on them: ``ListFunctions``
(``GET /2015-03-31/functions/``, ``Marker``/``MaxItems`` paging), ``GetFunction`` (``GET
/2015-03-31/functions/{name}``) and ``GetFunctionConfiguration`` (``.../{name}/configuration``).

Each function of ``vmha.api.functions`` (intake and every step) is one Lambda function at version
``$LATEST``, described in Lambda's ``FunctionConfiguration`` shape: its ARN names the gateway's region and
its project (the account), ``Timeout`` is the step's, ``Description`` says what kind it is. There is no code
to download, so ``GetFunction`` answers the configuration alone. ``FunctionName`` may be a name or an ARN.
A page's ``NextMarker`` is the name of its last function; a marker no function has is refused (400).
Signed with SigV4 like Invoke (``vmha.api.sigv4``).
Reference: https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

import webob

from vmha.api.functions import Functions
from vmha.api.web import ApiError, reply

LATEST = "$LATEST"
DEFAULT_PAGE, MAX_PAGE = 50, 10000
RUNTIME = "python{}.{}".format(*platform.python_version_tuple()[:2])


class LambdaFunctions:
    """The ListFunctions, GetFunction and GetFunctionConfiguration routes."""

    def __init__(self, functions: Functions, cloud: Any) -> None:
        self._functions = functions
        self._cloud = cloud

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        size = _max_items(request.GET.get("MaxItems"))
        listed = self._functions.catalogue()
        start = 0
        marker = request.GET.get("Marker")
        if marker is not None:
            names = [function["name"] for function in listed]
            if marker not in names:
                raise ApiError(400, f"Marker {marker} is not a function name (it is the NextMarker of a page)",
                               "InvalidParameterValueException")
            start = names.index(marker) + 1
        page = listed[start:start + size]
        body: dict[str, Any] = {"Functions": [self._configuration(function) for function in page]}
        if start + size < len(listed):
            body["NextMarker"] = page[-1]["name"]
        return reply(200, body)

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return reply(200, {"Configuration": self._configuration(self._find(request, params["name"]))})

    def configuration(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return reply(200, self._configuration(self._find(request, params["name"])))

    def _find(self, request: webob.Request, given: str) -> dict[str, Any]:
        """The catalogue entry of the function named (or ARN'd) ``given`` at ``$LATEST``; ApiError 404."""
        name, _, suffix = given.rsplit(":function:", 1)[-1].partition(":")
        version = suffix or request.GET.get("Qualifier", LATEST)
        if version != LATEST:
            raise ApiError(404, f"Function not found: {self._arn(name)}:{version}")
        for function in self._functions.catalogue():
            if function["name"] == name:
                return function
        raise ApiError(404, f"Function not found: {self._arn(name)}")

    def _arn(self, name: str) -> str:
        region = self._cloud.config.get_region_name() or "RegionOne"
        return f"arn:aws:lambda:{region}:{self._cloud.current_project_id}:function:{name}"

    def _configuration(self, function: Mapping[str, Any]) -> dict[str, Any]:
        kind = "the intake (takes a notification)" if function["kind"] == "intake" else \
            f"a recovery step{' run once per server' if function['per_instance'] else ''} (takes a step message)"
        return {"FunctionName": function["name"], "FunctionArn": self._arn(function["name"]), "Runtime": RUNTIME,
                "Description": f"vmha {kind}", "Timeout": max(1, round(function["timeout_seconds"])),
                "Version": LATEST, "State": "Active", "LastUpdateStatus": "Successful", "PackageType": "Zip"}


def _max_items(given: str | None) -> int:
    if given is None:
        return DEFAULT_PAGE
    if not given.isdigit() or not 1 <= int(given) <= MAX_PAGE:
        raise ApiError(400, f"MaxItems must be an integer within 1..{MAX_PAGE}", "InvalidParameterValueException")
    return int(given)
