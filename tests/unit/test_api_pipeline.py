"""The middleware around the API (vmha.api.server.pipeline): a request id on every answer, the proxy's
headers believed only when http.proxy_headers says a proxy sets them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import webob

from vmha.api.server import pipeline
from vmha.contracts import load_settings

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ha.example.org", "X-Forwarded-For": "192.0.2.7"}


def _echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers with what it saw: the URL it would give out, the caller's address, the request id."""
    seen = f"{webob.Request(environ).host_url} {environ.get('REMOTE_ADDR')} {environ['openstack.request_id']}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [seen.encode()]


def _call(proxy_headers: bool) -> webob.Response:
    options = dataclasses.replace(load_settings(environ={}).http, proxy_headers=proxy_headers)
    request = webob.Request.blank("/v1", headers=FORWARDED, remote_addr="127.0.0.1")
    response: webob.Response = request.get_response(pipeline(_echo, options))
    return response


def test_every_answer_carries_the_request_id_the_app_saw() -> None:
    first, second = _call(False), _call(False)
    ids = [response.headers["X-OpenStack-Request-ID"] for response in (first, second)]
    assert ids[0] != ids[1] and all(one.startswith("req-") for one in ids)
    assert first.text.endswith(ids[0])


def test_the_proxy_headers_are_believed_only_when_told() -> None:
    assert _call(False).text.startswith("http://localhost 127.0.0.1 ")
    assert _call(True).text.startswith("https://ha.example.org 192.0.2.7 ")
