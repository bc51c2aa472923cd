"""How the API answers when the cloud it reads fails it: one mapping for every route that reads Nova or
Placement at request time, so each says the same thing for the same failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from openstack import exceptions

from vmha.api.web import ApiError
from vmha.cloud.segments import SegmentError


@contextmanager
def reading_cloud(services: str) -> Iterator[None]:
    """Turns, inside the block, a segment whose metadata is invalid (or a host in two segments) into a 409 and
    a ``services`` answer that cannot be read (openstacksdk's errors) into a 503 naming them."""
    try:
        yield
    except SegmentError as error:
        raise ApiError(409, str(error)) from error
    except exceptions.SDKException as error:
        raise ApiError(503, f"{services} could not be read: {error}") from error
