"""Queues on Zaqar v2 through python-zaqarclient on a keystoneauth session.

Not openstacksdk's message proxy: in openstacksdk 4.18 creating a claim fails and listing pages forever.
Messages are claimed one at a time: the Redis store's claim script takes every message after the first
claimable one without checking its own claim or delay, so a larger claim could take messages another
consumer holds, or delayed ones early; one message per claim never does.
Zaqar drops a message's ``delay`` unless its queue has a non-zero ``_default_message_delay``: ``prepare``
sets one on the queues the runtime posts delayed messages to, and every post names its delay (0 included).
``prepare`` also sets Zaqar's dead-letter metadata (``_max_claim_count``, ``_dead_letter_queue``,
``_dead_letter_queue_messages_ttl``) on the consumed queues (``vmha.runtime.poison``).
Zaqar's endpoint is looked up in the catalog once, at the first request, not at every request as the client
does when it has only the session: each lookup copies the whole catalog (keystoneauth), about a millisecond of
CPU, and the gateway makes several requests per step. A moved Zaqar endpoint takes a gateway restart.
The client's requests go through the keystoneauth session (``KeystoneHttp``), as every other OpenStack call
of the process does: its timeout (the client has none of its own), its pooled keep-alive connections (the
client makes a transport with a new HTTP session, hence a new TCP connection, for every request), its TLS
settings from clouds.yaml.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from zaqarclient.queues.v2 import claim as zaqar_claim
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.queues.v2 import core
from zaqarclient.queues.v2 import message as zaqar_message
from zaqarclient.transport import errors
from zaqarclient.transport import http as zaqar_http

from vmha.runtime.effects import DEAD_LETTER_TTL
from vmha.runtime.queues import Claimed

log = logging.getLogger(__name__)

_DEAD_LETTER_KEYS = ("_max_claim_count", "_dead_letter_queue", "_dead_letter_queue_messages_ttl")
_MIN_CLAIM_TTL = 60


class KeystoneHttp:
    """The HTTP client interface python-zaqarclient's transport sends through (``request``), on a keystoneauth
    session: the session authenticates, times out and pools connections; the transport maps the status."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def request(self, method: str, *, url: str, params: Any, headers: dict[str, str], data: Any,
                verify: bool | str) -> Any:
        """``verify`` is the client's and ignored: the session's own (clouds.yaml) applies."""
        return self._session.request(url, method, params=params, headers=headers, data=data, raise_exc=False)


def _client_on(url: str, session: Any) -> Any:
    """python-zaqarclient's v2 client with one transport, on ``KeystoneHttp``, for all its requests (the client
    would make one per request)."""
    client = zaqar_client.Client(url=url, version=2, session=session)
    transport = zaqar_http.HttpTransport(client.conf)
    transport.client = KeystoneHttp(session)
    client._get_transport = lambda _request: transport
    return client


class ZaqarQueues:
    """The runtime's Queues on Zaqar; thread-safe (one client, a request per call)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._made: Any = None
        self._making = threading.Lock()

    @property
    def _client(self) -> Any:
        """The client on Zaqar's endpoint, the one the client itself would look up (public, any region)."""
        with self._making:
            if self._made is None:
                url = self._session.get_endpoint(service_type="messaging", interface="public")
                self._made = _client_on(url, self._session)
            return self._made

    def prepare(self, queue: str, *, delays: bool = False, dead_letters: str = "", max_claims: int = 0) -> None:
        metadata = self._client.queue(queue, force_create=True).metadata(force_reload=True)
        wanted: dict[str, Any] = {}
        if delays and not metadata.get("_default_message_delay"):
            wanted["_default_message_delay"] = 1
        if dead_letters and max_claims:
            wanted.update(zip(_DEAD_LETTER_KEYS, (max_claims, dead_letters, DEAD_LETTER_TTL), strict=True))
        changes = [{"op": "add", "path": f"/metadata/{key}", "value": value}
                   for key, value in wanted.items() if metadata.get(key) != value]
        changes += [{"op": "remove", "path": f"/metadata/{key}"} for key in _DEAD_LETTER_KEYS
                    if key not in wanted and metadata.get(key) is not None]
        if changes:
            request, transport = self._client._request_and_transport()  # the Queue API would drop other keys
            core.queue_update(transport, request, queue, metadata=changes)

    def claim(self, queue: str, ttl: int, grace: int) -> Claimed | None:
        handle = self._client.queue(queue, auto_create=False)
        for message in handle.claim(ttl=ttl, grace=grace, limit=1):
            return Claimed(queue=queue, id=message.id, claim_id=message.claim_id, body=message.body)
        return None

    def post(self, queue: str, bodies: Sequence[Any], *, ttl: int, delay: int = 0) -> None:
        self._client.queue(queue, auto_create=False).post([{"body": body, "ttl": ttl, "delay": delay}
                                                           for body in bodies])

    def delete(self, claimed: Claimed) -> bool:
        handle = self._client.queue(claimed.queue, auto_create=False)
        href = f"/v2/queues/{claimed.queue}/messages/{claimed.id}?claim_id={claimed.claim_id}"
        try:
            zaqar_message.Message(handle, ttl=0, age=0, body=None, href=href).delete()
        except errors.ForbiddenError:
            log.warning("claim lost before delete", extra={"queue": claimed.queue, "message_id": claimed.id})
            return False
        return True

    def postpone(self, claimed: Claimed, seconds: int, grace: int) -> None:
        handle = self._client.queue(claimed.queue, auto_create=False)
        zaqar_claim.Claim(handle, id=claimed.claim_id).update(ttl=max(_MIN_CLAIM_TTL, seconds), grace=grace)

    def stats(self, queue: str) -> Mapping[str, Any]:
        """Zaqar's stats of ``queue`` (message counts, oldest and newest message)."""
        found: Mapping[str, Any] = self._client.queue(queue, auto_create=False).stats
        return found

    def release(self, claimed: Claimed) -> None:
        zaqar_claim.Claim(self._client.queue(claimed.queue, auto_create=False), id=claimed.claim_id).delete()
