"""The coordination drivers' own errors, raised as tooz's: one exception tree for every caller of tooz."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from etcd3gw.exceptions import Etcd3Exception
from redis.exceptions import RedisError
from tooz import coordination


@contextlib.contextmanager
def as_tooz_errors() -> Iterator[None]:
    """Raise the drivers' own errors as ToozError: tooz's etcd3 and Redis drivers let them through (an etcd
    request timing out on a cut link raised etcd3gw's ConnectionTimeoutError and ended the host monitor)."""
    try:
        yield
    except (Etcd3Exception, RedisError) as error:
        raise coordination.ToozConnectionError(f"{type(error).__name__}: {error}") from error
