"""The gateway's WSGI application: one route table, an authentication kind per route, errors per family.

Authentication: Keystone tokens (``auth``) on the Masakari and functions routes; SigV4 with a Keystone EC2
credential (``sigv4``) on the Lambda route; on the webhooks a Keystone token when the call carries one (Aodh's
and Zaqar's trusts, under a rule of their own: ``TOKEN_WEBHOOK_RULES``), else a signed URL (``webhooks``); none
on ``/healthz``,
``/metrics``, version discovery and ``/v1/wakeup`` (a Zaqar push that only makes the consumers claim at once:
it reads nothing and changes nothing; rate-limited by ``vmha.api.throttle``). Then the route's policy rule
(``policy.rule_for``) decides, and the calls that run steps or change state are audited (``audit``).
Masakari's paths may carry a project id after ``/v1`` (``/v1/<project>/segments``), as its catalog endpoints
do. A bug answers 500 with ``X-Vmha-Error: unhandled`` and is logged.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import webob
from oslo_middleware.request_id import ENV_REQUEST_ID, GLOBAL_REQ_ID

from vmha.api import audit, sigv4, versions, webhooks
from vmha.api.announce import announced
from vmha.api.auth import Filter, keystone_ec2, token_caller
from vmha.api.capacity import Capacity
from vmha.api.executions import Executions
from vmha.api.failback import Failbacks
from vmha.api.fencing import SegmentFencing
from vmha.api.flows import Flows
from vmha.api.functions import Functions
from vmha.api.hosts import Hosts
from vmha.api.invoke import Invocations
from vmha.api.lambda_functions import LambdaFunctions
from vmha.api.masakari import Notifications
from vmha.api.metrics import Metrics
from vmha.api.policy import ANONYMOUS, Caller, Policy, rule_for, service_config
from vmha.api.report import Reports
from vmha.api.returns import Returns
from vmha.api.segments import Inventory, Segments
from vmha.api.throttle import WAKEUP_BURST, WAKEUPS_PER_SECOND, Throttle
from vmha.api.vmoves import VMoves
from vmha.api.web import ApiError, Family, error_reply, read_body, reply
from vmha.cloud.request_ids import carrying
from vmha.policies import TOKEN_WEBHOOK_RULES
from vmha.runtime import Services

log = logging.getLogger(__name__)

Handler = Callable[[webob.Request, Mapping[str, str]], webob.Response]
_ROUTE_KEY = "vmha.route"
_PROJECT_PREFIX = re.compile(r"^/v1/[0-9a-f]{32}(?=/)")


class Auth(Enum):
    """How a route's caller is authenticated."""

    NONE = "none"
    KEYSTONE = "keystone"
    SIGV4 = "sigv4"
    SIGNED = "signed"
    """A signed URL, or a Keystone token when the call carries one."""


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    family: Family
    auth: Auth
    handler: Handler
    path: str


@dataclass(frozen=True)
class Parts:
    """What the app serves besides the route modules: liveness, wake-up, metrics, functions."""

    services: Services
    wake: Callable[[], None]
    healthy: Callable[[], bool]
    metrics: Metrics
    functions: Functions
    keystone: Filter


def route(method: str, path: str, family: Family, auth: Auth, handler: Handler) -> Route:
    """A route; ``{name}`` in ``path`` matches one path segment."""
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{pattern}/?$"), family, auth, handler, path)


def routes(parts: Parts) -> list[Route]:
    services, limit = parts.services, parts.services.settings.api.max_body_bytes
    inventory = Inventory(services.cloud, services.journal, limit)
    notes, segments, hosts, vmoves = Notifications(services), Segments(inventory), Hosts(inventory), \
        VMoves(services.journal)
    runs, hooks = Executions(parts.functions, services.journal, limit), webhooks.Webhooks(services, parts.wake)
    invocations, wakeups = Invocations(parts.functions, limit), Throttle(WAKEUPS_PER_SECOND, WAKEUP_BURST)
    reads, fencing = LambdaFunctions(parts.functions, services.cloud), SegmentFencing(inventory)
    capacity = Capacity(services.cloud, services.settings, services.journal)
    failbacks = Failbacks(services.cloud, services.settings, services.journal)
    plain, masakari, key = Family.PLAIN, Family.MASAKARI, Auth.KEYSTONE
    events = services.events
    return [
        route("GET", "", plain, Auth.NONE, versions.root),
        route("GET", "/v1", plain, Auth.NONE, versions.v1),
        route("GET", "/healthz", plain, Auth.NONE, lambda request, _: _health(parts)),
        route("GET", "/metrics", plain, Auth.NONE, lambda request, _: _metrics(parts)),
        route("POST", "/v1/wakeup", plain, Auth.NONE, lambda request, _: _wakeup(parts, request, limit, wakeups)),
        route("POST", webhooks.ZAQAR_PATH, plain, Auth.SIGNED, hooks.zaqar),
        route("POST", webhooks.AODH_PATH, plain, Auth.SIGNED, hooks.aodh),
        route("GET", "/v1/capacity", plain, key, capacity.index),
        route("GET", "/v1/hosts/{name}/failover-plan", plain, key, capacity.plan),
        route("POST", "/v1/hosts/{name}/return", plain, key,
              Returns(services.cloud, services.settings, services.journal).create),
        route("POST", "/v1/hosts/{name}/failback", plain, key, failbacks.create),
        route("DELETE", "/v1/hosts/{name}/failback", plain, key, failbacks.delete),
        route("GET", "/v1/report", plain, key, Reports(services.cloud, services.journal).index),
        route("GET", "/v1/audit", plain, key, audit.AuditTrail(services.journal).index),
        route("GET", "/v1/functions", plain, key, runs.functions),
        route("GET", "/v1/flows/{type}", plain, key, Flows(services.settings, services.table).show),
        route("POST", "/v1/functions/{name}/executions", plain, key, runs.create),
        route("GET", "/v1/functions/{name}/executions/{execution_id}", plain, key, runs.show),
        route("POST", "/2015-03-31/functions/{name}/invocations", Family.LAMBDA, Auth.SIGV4, invocations.invoke),
        route("GET", "/2015-03-31/functions", Family.LAMBDA, Auth.SIGV4, reads.index),
        route("GET", "/2015-03-31/functions/{name}", Family.LAMBDA, Auth.SIGV4, reads.show),
        route("GET", "/2015-03-31/functions/{name}/configuration", Family.LAMBDA, Auth.SIGV4, reads.configuration),
        route("POST", "/v1/notifications", masakari, key, notes.create),
        route("GET", "/v1/notifications", masakari, key, notes.index),
        route("GET", "/v1/notifications/{notification_id}", masakari, key, notes.show),
        route("GET", "/v1/notifications/{notification_id}/vmoves", masakari, key, vmoves.index),
        route("GET", "/v1/notifications/{notification_id}/vmoves/{vmove_id}", masakari, key, vmoves.show),
        route("GET", "/v1/segments", masakari, key, segments.index),
        route("POST", "/v1/segments", masakari, key,
              announced(events, "segment", "create", segments.create, segments.show)),
        route("GET", "/v1/segments/{segment_id}", masakari, key, segments.show),
        route("PUT", "/v1/segments/{segment_id}", masakari, key,
              announced(events, "segment", "update", segments.update, segments.show)),
        route("DELETE", "/v1/segments/{segment_id}", masakari, key,
              announced(events, "segment", "delete", segments.delete, segments.show)),
        route("GET", "/v1/segments/{segment_id}/fencing", masakari, key, fencing.show),
        route("PUT", "/v1/segments/{segment_id}/fencing", masakari, key, fencing.update),
        route("GET", "/v1/segments/{segment_id}/hosts", masakari, key, hosts.index),
        route("POST", "/v1/segments/{segment_id}/hosts", masakari, key,
              announced(events, "host", "create", hosts.create, hosts.show)),
        route("GET", "/v1/segments/{segment_id}/hosts/{host_id}", masakari, key, hosts.show),
        route("PUT", "/v1/segments/{segment_id}/hosts/{host_id}", masakari, key,
              announced(events, "host", "update", hosts.update, hosts.show)),
        route("DELETE", "/v1/segments/{segment_id}/hosts/{host_id}", masakari, key,
              announced(events, "host", "delete", hosts.delete, hosts.show)),
    ]


class App:
    """The WSGI callable."""

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        self._routes = routes(parts)
        self._rules = {(found.method, found.path): rule_for(found.method, found.path) for found in self._routes}
        self._policy = Policy(service_config(parts.services.settings.api.config_file))
        self._ec2 = keystone_ec2(parts.services.cloud)
        self._protected = parts.keystone(self._dispatch)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["PATH_INFO"] = _PROJECT_PREFIX.sub("/v1", environ.get("PATH_INFO", ""))
        request = webob.Request(environ)
        try:
            found = self._match(request)
        except ApiError as error:
            return error_reply(_family(request.path_info), error)(environ, start_response)
        environ[_ROUTE_KEY] = found
        chosen = self._protected if found[0].auth is Auth.KEYSTONE or _token_webhook(found[0], environ) \
            else self._dispatch
        return chosen(environ, start_response)

    def _match(self, request: webob.Request) -> tuple[Route, dict[str, str]]:
        allowed = []
        for candidate in self._routes:
            matched = candidate.pattern.match(request.path_info)
            if matched is None:
                continue
            if candidate.method == request.method:
                return candidate, matched.groupdict()
            allowed.append(candidate.method)
        if allowed:
            raise ApiError(405, f"{request.method} is not allowed on {request.path_info} (allowed: "
                                f"{', '.join(allowed)})")
        raise ApiError(404, f"no such resource: {request.path_info}")

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = webob.Request(environ)
        found, params = environ[_ROUTE_KEY]
        with carrying(environ.get(GLOBAL_REQ_ID) or environ.get(ENV_REQUEST_ID) or ""):
            response = self._respond(request, found, params)
        return response(environ, start_response)

    def _respond(self, request: webob.Request, found: Route, params: dict[str, str]) -> webob.Response:
        rule, caller, admitted, reason = self._rules[found.method, found.path], ANONYMOUS, False, None
        if _token_webhook(found, request.environ):
            rule = TOKEN_WEBHOOK_RULES[rule]
        try:
            caller = self._authenticate(request, found)
            self._policy.authorize(rule, caller, {"project_id": caller.project_id, **params})
            admitted = True
            response = self._handle(request, found, params)
        except ApiError as error:
            response, reason = error_reply(found.family, error), error.message
        if audit.audited(found.method, rule):
            audit.write(self._parts.services.journal,
                        audit.entry(request, rule, params, caller, admitted=admitted, response=response, reason=reason))
        return response

    def _handle(self, request: webob.Request, found: Route, params: dict[str, str]) -> webob.Response:
        try:
            if found.family is not Family.MASAKARI:
                return found.handler(request, params)
            version = versions.requested(request)
            request.environ[versions.ENVIRON_KEY] = version
            response = found.handler(request, params)
            response.headers[versions.HEADER] = f"{versions.SERVICE} {versions.text(version)}"
            response.headers["Vary"] = versions.HEADER
            return response
        except ApiError:
            raise
        except Exception:
            log.exception("request failed", extra={"method": request.method, "path": request.path_info})
            response = error_reply(found.family, ApiError(500, "internal error; the gateway log has the details"))
            response.headers["X-Vmha-Error"] = "unhandled"
            return response

    def _authenticate(self, request: webob.Request, found: Route) -> Caller:
        settings = self._parts.services.settings
        if found.auth is Auth.KEYSTONE or _token_webhook(found, request.environ):
            return token_caller(request.environ)
        if found.auth is Auth.SIGV4:
            body = read_body(request, settings.api.max_body_bytes)
            return sigv4.verify(request, body, self._ec2, datetime.now(UTC))
        if found.auth is Auth.SIGNED:
            webhooks.verify(request, settings.api.webhook_secret, time.time())
            return Caller(f"webhook:{found.path.rsplit('/', 1)[-1]}")
        return ANONYMOUS


def _token_webhook(found: Route, environ: Mapping[str, Any]) -> bool:
    """Whether this is a webhook call with a Keystone token (keystonemiddleware checks it) instead of a signed URL."""
    return found.auth is Auth.SIGNED and bool(environ.get("HTTP_X_AUTH_TOKEN"))


def _family(path: str) -> Family:
    if path.startswith("/2015-03-31/"):
        return Family.LAMBDA
    return Family.MASAKARI if path.startswith(("/v1/notifications", "/v1/segments")) else Family.PLAIN


def _health(parts: Parts) -> webob.Response:
    healthy = parts.healthy()
    return reply(200 if healthy else 503, {"status": "ok" if healthy else "unhealthy"})


def _metrics(parts: Parts) -> webob.Response:
    response = webob.Response(body=parts.metrics.exposition())
    response.content_type = "text/plain"
    response.charset = None
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return response


def _wakeup(parts: Parts, request: webob.Request, limit: int, throttle: Throttle) -> webob.Response:
    read_body(request, limit)
    wait = throttle.take()
    if wait:
        return reply(429, {"error": {"code": 429, "message": "too many wake-ups; the consumers are awake"}},
                     {"Retry-After": str(math.ceil(wait))})
    parts.wake()
    return reply(202, {"woken": True})
