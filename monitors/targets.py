"""Delivery targets of the sink: the Zaqar notifications queue, and optionally a Masakari-compatible API.

Both send through one keystoneauth session (``cloud.LazySession``) whose timeout bounds every request, the
token request included: a Keystone or target that accepts and never answers is a failed attempt, not a
stuck courier. Keystone or the target being down, slow or refusing connections is
``TargetUnavailableError`` (the sink retries); only a 400 answer, a malformed message, is
``TargetRejectedError``. Zaqar is spoken to directly (v2, ``POST /v2/queues/{name}/messages``, one message)
through a keystoneauth adapter: python-zaqarclient has no request timeout.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vmha.monitors.cloud import CloudConfigError
from vmha.monitors.sink import TargetRejectedError, TargetUnavailableError

if TYPE_CHECKING:
    from keystoneauth1.session import Session

_LOG = logging.getLogger(__name__)
MASAKARI_MICROVERSION = "instance-ha 1.0"
ZAQAR_SERVICE_TYPE = "messaging"


def _send(session: Callable[[], Session], url: str, body: dict[str, Any], **options: Any) -> Any:
    """POST ``body``; a failure to get an answer (auth included) is TargetUnavailableError."""
    # keystoneauth1's exceptions (timeouts, refused connections, auth failures) all derive from ClientException.
    from keystoneauth1 import exceptions  # noqa: PLC0415  (imported with the session, see cloud.LazySession)

    try:
        return session().post(url, json=body, raise_exc=False, **options)
    except (exceptions.ClientException, OSError, CloudConfigError) as error:
        raise TargetUnavailableError(f"{type(error).__name__}: {error}") from error


def _check(status: int, target: str, text: str) -> None:
    if status == 400:
        raise TargetRejectedError(f"{target} answered 400: {text[:500]}")
    if not 200 <= status < 300:
        raise TargetUnavailableError(f"{target} answered {status}")


class ZaqarTarget:
    """Posts each notification as the body of one message on the notifications queue.

    ``url``: Zaqar's base URL (without the version); empty: the messaging endpoint of the catalog.
    """

    name = "zaqar"

    def __init__(self, session: Callable[[], Session], queue: str, url: str, ttl_seconds: int, *,
                 interface: str = "public", region_name: str | None = None) -> None:
        self._session = session
        self._path = f"/v2/queues/{queue}/messages"
        self._endpoint = {"endpoint_override": url.rstrip("/")} if url else {"endpoint_filter": {
            "service_type": ZAQAR_SERVICE_TYPE, "interface": interface, "region_name": region_name}}
        self._ttl = ttl_seconds
        self._client_id = str(uuid.uuid4())  # Zaqar requires one per client

    def deliver(self, document: dict[str, Any]) -> None:
        response = _send(self._session, self._path, {"messages": [{"body": document, "ttl": self._ttl}]},
                         headers={"Client-ID": self._client_id}, **self._endpoint)
        _check(int(response.status_code), "Zaqar", response.text)


class MasakariTarget:
    """POSTs each notification to ``<base_url>/v1/notifications`` in Masakari's request format.

    Masakari answers 409 for a duplicate or a host on maintenance: final, as masakari-monitors treat it.
    """

    name = "masakari"

    def __init__(self, session: Callable[[], Session], base_url: str) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/v1/notifications"

    def deliver(self, document: dict[str, Any]) -> None:
        body = {"notification": {key: document[key] for key in ("type", "hostname", "generated_time", "payload")}}
        response = _send(self._session, self._url, body, headers={"OpenStack-API-Version": MASAKARI_MICROVERSION})
        status = int(response.status_code)
        if status == 409:
            _LOG.info("Masakari already has this notification", extra={"id": document["id"], "status": status})
            return
        _check(status, "Masakari", response.text)
