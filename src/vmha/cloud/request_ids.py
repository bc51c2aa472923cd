"""Which gateway request a call to Nova (or any OpenStack service) belongs to: the X-OpenStack-Request-ID
header, which Nova logs as the request's ``global_request_id``.

A gateway process shares one openstacksdk Connection between the API's threads and the step workers.
``traced`` gives that Connection's session to a ``TracedConnection``, which sends with every request the id
``carrying`` set in the calling context: the API request's while it is served, the step run's while a step
runs (``vmha.runtime.execute`` hands the caller's context to the step's thread). Outside of both (the
sweeper, /metrics) no id is sent, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import openstack.connection

_CURRENT: ContextVar[str | None] = ContextVar("vmha_global_request_id", default=None)


class TracedConnection(openstack.connection.Connection):
    """A Connection whose global request id is the calling context's (``carrying``), else its own."""

    _own_request_id: str | None = None

    @property
    def _global_request_id(self) -> str | None:  # read by openstacksdk's proxies at every request
        return _CURRENT.get() or self._own_request_id

    @_global_request_id.setter
    def _global_request_id(self, value: str | None) -> None:
        self._own_request_id = value


def traced(conn: Any) -> TracedConnection:
    """``conn`` as a TracedConnection on the same session, login and pinned versions."""
    if isinstance(conn, TracedConnection):
        return conn
    return TracedConnection(config=conn.config)


def current() -> str | None:
    """The id calls made now carry, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def carrying(request_id: str) -> Iterator[None]:
    """Calls made in this context (and in threads started with a copy of it) carry ``request_id``."""
    token = _CURRENT.set(request_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)
