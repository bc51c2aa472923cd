"""Masakari's segments and hosts on Nova host aggregates: read them, and write them with nothing half-written.

A segment is an aggregate with ``vmha:`` metadata (``vmha.cloud.segments``); its id is the aggregate's
uuid. Besides the keys recovery reads, the Masakari API keeps Masakari's descriptive fields in keys of its
own, which recovery never reads:

``vmha:service_type``, ``vmha:description``
    A segment's ``service_type`` (``COMPUTE`` when absent, e.g. on a segment Heat made) and description.
``vmha:type:<host>``, ``vmha:control_attributes:<host>``
    A host's ``type`` (``COMPUTE`` when absent) and ``control_attributes`` (empty when absent).

A host the API adds joins the aggregate (Nova checks that it is a compute host); ``reserved`` and
``on_maintenance`` are its place in ``vmha:reserved_hosts`` and ``vmha:maintenance_hosts``.

A write takes one to three Nova calls. When a later call fails, the earlier ones are undone (an aggregate
created but whose metadata Nova refused is deleted, a host added is removed again, metadata is set back),
so a failed request leaves Nova as it found it; the error then goes to the caller.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from vmha.cloud.segments import PREFIX, Segment, SegmentError, parse_segment

log = logging.getLogger(__name__)

SERVICE_TYPE = PREFIX + "service_type"
DESCRIPTION = PREFIX + "description"
RESERVED = PREFIX + "reserved_hosts"
MAINTENANCE = PREFIX + "maintenance_hosts"
DEFAULT_SERVICE_TYPE = DEFAULT_HOST_TYPE = "COMPUTE"

Metadata = dict[str, str | None]
"""Metadata to set; None removes the key (as Nova's set_metadata does)."""


def type_key(host: str) -> str:
    return f"{PREFIX}type:{host}"


def control_key(host: str) -> str:
    return f"{PREFIX}control_attributes:{host}"


@dataclass(frozen=True)
class Found:
    """A segment with its aggregate (for writes), metadata and timestamps."""

    id: str
    segment: Segment
    aggregate: Any
    metadata: Mapping[str, str]
    created_at: str | None
    updated_at: str | None

    @property
    def service_type(self) -> str:
        return self.metadata.get(SERVICE_TYPE, DEFAULT_SERVICE_TYPE)

    @property
    def description(self) -> str | None:
        return self.metadata.get(DESCRIPTION)

    def host_type(self, host: str) -> str:
        return self.metadata.get(type_key(host), DEFAULT_HOST_TYPE)

    def control_attributes(self, host: str) -> str:
        return self.metadata.get(control_key(host), "")


def found_segments(cloud: Any) -> list[Found]:
    """Every vmha segment; a segment whose keys are invalid is left out (intake reports it)."""
    found = []
    for aggregate in cloud.compute.aggregates():
        metadata = dict(aggregate.metadata or {})
        if not any(key.startswith(PREFIX) for key in metadata):
            continue
        try:
            segment = parse_segment(aggregate.name, tuple(aggregate.hosts or ()), metadata)
        except SegmentError:
            continue
        found.append(Found(str(aggregate.uuid), segment, aggregate, metadata, aggregate.created_at,
                           aggregate.updated_at))
    return found


def listed(names: tuple[str, ...], host: str, present: bool, renamed: str | None = None) -> str:
    """The comma-separated list ``names`` with ``host`` (called ``renamed`` from now on, when given) in it or
    not: kept in its place (the order of spares matters), added at the end."""
    name = renamed or host
    kept = [name if item == host else item for item in names]
    if present and name not in kept:
        kept.append(name)
    return ",".join(item for item in kept if present or item != name)


def create_segment(cloud: Any, name: str, metadata: Metadata) -> Any:
    """A new aggregate ``name`` with ``metadata``; no aggregate is left when Nova refuses the metadata."""
    with _undoing() as undo:
        aggregate = cloud.compute.create_aggregate(name=name)
        undo(cloud.compute.delete_aggregate, aggregate)
        cloud.compute.set_aggregate_metadata(aggregate, metadata)
    return aggregate


def update_segment(cloud: Any, found: Found, name: str | None, metadata: Metadata) -> None:
    """Rename the segment's aggregate (None: keep its name) and set ``metadata``, both or neither."""
    with _undoing() as undo:
        if name is not None and name != found.segment.name:
            cloud.compute.update_aggregate(found.aggregate, name=name)
            undo(cloud.compute.update_aggregate, found.aggregate, name=found.segment.name)
        cloud.compute.set_aggregate_metadata(found.aggregate, metadata)


def delete_segment(cloud: Any, found: Found) -> None:
    """Empty the aggregate (Nova deletes only empty ones) and delete it; its hosts come back on failure."""
    with _undoing() as undo:
        for host in found.segment.hosts:
            cloud.compute.remove_host_from_aggregate(found.aggregate, host)
            undo(cloud.compute.add_host_to_aggregate, found.aggregate, host)
        cloud.compute.delete_aggregate(found.aggregate)


def add_host(cloud: Any, found: Found, host: str, metadata: Metadata) -> None:
    """Add ``host`` to the aggregate and set ``metadata``, both or neither."""
    with _undoing() as undo:
        if host not in found.segment.hosts:
            cloud.compute.add_host_to_aggregate(found.aggregate, host)
            undo(cloud.compute.remove_host_from_aggregate, found.aggregate, host)
        cloud.compute.set_aggregate_metadata(found.aggregate, metadata)


def remove_host(cloud: Any, found: Found, host: str, metadata: Metadata) -> None:
    """Set ``metadata`` and take ``host`` out of the aggregate, both or neither."""
    with _undoing() as undo:
        _set_undoably(cloud, found, metadata, undo)
        if host in found.segment.hosts:
            cloud.compute.remove_host_from_aggregate(found.aggregate, host)


def change_host(cloud: Any, found: Found, old: str, new: str, metadata: Metadata, *,
                then: Callable[[], None] = lambda: None) -> None:
    """Rename host ``old`` to ``new`` (a no-op when equal), set ``metadata`` and run ``then``; all or nothing."""
    with _undoing() as undo:
        if new != old and new not in found.segment.hosts:
            cloud.compute.add_host_to_aggregate(found.aggregate, new)
            undo(cloud.compute.remove_host_from_aggregate, found.aggregate, new)
        _set_undoably(cloud, found, metadata, undo)
        if new != old and old in found.segment.hosts:
            cloud.compute.remove_host_from_aggregate(found.aggregate, old)
            undo(cloud.compute.add_host_to_aggregate, found.aggregate, old)
        then()


def _set_undoably(cloud: Any, found: Found, metadata: Metadata, undo: Callable[..., None]) -> None:
    cloud.compute.set_aggregate_metadata(found.aggregate, metadata)
    undo(cloud.compute.set_aggregate_metadata, found.aggregate,
         {key: found.metadata.get(key) for key in metadata})


Undo = Callable[..., None]


@contextlib.contextmanager
def _undoing() -> Iterator[Undo]:
    """Yields ``undo(call, *args, **kwargs)`` to register how to take back each change made; when the block
    raises, the registered calls run newest first (one that fails is logged) and the error goes on."""
    steps: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
    try:
        yield lambda call, *args, **kwargs: steps.append((call, args, kwargs))
    except BaseException:
        for call, args, kwargs in reversed(steps):
            try:
                call(*args, **kwargs)
            except Exception:
                log.exception("could not undo a partial segment change in Nova", extra={"call": call.__name__})
        raise
