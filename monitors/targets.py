"""Delivery targets of the sink: the Zaqar notifications queue, and optionally a Masakari-compatible API.

Both authenticate with one keystoneauth session from clouds.yaml (``cloud`` or ``OS_CLOUD``). Keystone or
the target being down, slow or refusing connections is ``TargetUnavailableError`` (the sink retries); only a
400 answer, a malformed message, is ``TargetRejectedError``.
"""

from __future__ import annotations

import logging
from typing import Any

import openstack.config
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1.session import Session
from zaqarclient import errors as zaqar_errors
from zaqarclient.queues import client as zaqar_client
from zaqarclient.transport import errors as zaqar_transport_errors

from vmha.monitors.sink import TargetRejectedError, TargetUnavailableError

_LOG = logging.getLogger(__name__)
# requests' exceptions (zaqarclient talks through requests) derive from OSError.
_UNAVAILABLE = (zaqar_errors.ZaqarError, ks_exceptions.ClientException, OSError)
MASAKARI_MICROVERSION = "instance-ha 1.0"


def cloud_session(cloud: str) -> Session:
    """The keystoneauth session of ``cloud`` in clouds.yaml; empty: the cloud named by OS_CLOUD."""
    region = openstack.config.OpenStackConfig().get_one(cloud=cloud or None)
    session: Session = region.get_session()
    return session


class ZaqarTarget:
    """Posts each notification as the body of one message on the notifications queue."""

    name = "zaqar"

    def __init__(self, session: Session, queue: str, url: str, ttl_seconds: int) -> None:
        self._session = session
        self._queue_name = queue
        self._url = url or None
        self._ttl = ttl_seconds
        self._queue: Any = None

    def deliver(self, document: dict[str, Any]) -> None:
        try:
            self._handle().post({"body": document, "ttl": self._ttl})
        except zaqar_transport_errors.MalformedRequest as error:
            raise TargetRejectedError(f"Zaqar refused the message: {error}") from error
        except _UNAVAILABLE as error:
            self._queue = None  # a fresh client (and token) on the next attempt
            raise TargetUnavailableError(f"{type(error).__name__}: {error}") from error

    def _handle(self) -> Any:
        if self._queue is None:
            client = zaqar_client.Client(url=self._url, version=2, session=self._session)
            self._queue = client.queue(self._queue_name, auto_create=False)
        return self._queue


class MasakariTarget:
    """POSTs each notification to ``<base_url>/v1/notifications`` in Masakari's request format.

    Masakari answers 409 for a duplicate or a host on maintenance: final, as masakari-monitors treat it.
    """

    name = "masakari"

    def __init__(self, session: Session, base_url: str, timeout: float) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/v1/notifications"
        self._timeout = timeout

    def deliver(self, document: dict[str, Any]) -> None:
        body = {"notification": {key: document[key] for key in ("type", "hostname", "generated_time", "payload")}}
        try:
            response = self._session.post(
                self._url, json=body, raise_exc=False, timeout=self._timeout,
                headers={"OpenStack-API-Version": MASAKARI_MICROVERSION})
        except _UNAVAILABLE as error:
            raise TargetUnavailableError(f"{type(error).__name__}: {error}") from error
        status = int(response.status_code)
        if status == 409:
            _LOG.info("Masakari already has this notification", extra={"id": document["id"], "status": status})
        elif status == 400:
            raise TargetRejectedError(f"Masakari answered 400: {response.text[:500]}")
        elif not 200 <= status < 300:
            raise TargetUnavailableError(f"Masakari answered {status}")
