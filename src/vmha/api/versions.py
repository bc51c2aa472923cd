"""Masakari's version discovery (``GET /``, ``GET /v1``) and microversions (``OpenStack-API-Version``).

Versions 1.0 to 1.3 as Masakari: 1.1 adds ``recovery_workflow_details`` to a notification, 1.2 a segment's
``enabled``, 1.3 the vmoves of a notification. No header means 1.0, ``latest`` the newest; a malformed
version is 400 and one outside the range 406, as in Masakari.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import webob

from vmha.api.web import ApiError, reply

HEADER = "OpenStack-API-Version"
SERVICE = "instance-ha"
MIN_VERSION = (1, 0)
MAX_VERSION = (1, 3)
ENVIRON_KEY = "vmha.microversion"
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

Version = tuple[int, int]


def requested(request: webob.Request) -> Version:
    """The microversion ``request`` asks for; ApiError 400 or 406."""
    wanted = None
    for item in request.headers.get(HEADER, "").split(","):
        service, _, value = item.strip().partition(" ")
        if service.lower() == SERVICE:
            wanted = value.strip()
    if wanted is None:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    found = _VERSION.match(wanted)
    if found is None:
        raise ApiError(400, f"API version string {wanted} format is not valid; use major.minor, e.g. 1.1.")
    version = (int(found[1]), int(found[2]))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ApiError(406, f"Version {wanted} is not supported by the API. Minimum is {text(MIN_VERSION)} "
                            f"and maximum is {text(MAX_VERSION)}.")
    return version


def of(request: webob.Request) -> Version:
    """The microversion the app resolved for ``request`` (Masakari routes only)."""
    version: Version = request.environ.get(ENVIRON_KEY, MIN_VERSION)
    return version


def text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def describe(request: webob.Request) -> dict[str, object]:
    """The v1 version document, its self link on the URL the caller used."""
    return {
        "id": "v1.0", "status": "CURRENT", "version": text(MAX_VERSION), "min_version": text(MIN_VERSION),
        "updated": "2016-07-01T11:33:21Z", "links": [{"rel": "self", "href": request.host_url + "/v1/"}],
    }


def root(request: webob.Request, params: Mapping[str, str]) -> webob.Response:
    return reply(200, {"versions": [describe(request)]})


def v1(request: webob.Request, params: Mapping[str, str]) -> webob.Response:
    return reply(200, {"version": describe(request)})
