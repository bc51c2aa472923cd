"""Masakari's list parameters: ``limit``, ``marker``, ``sort_key``/``sort_dir`` and boolean filters.

As Masakari: ``sort_key`` and ``sort_dir`` may repeat, pairing in order; a key without a direction takes the
first direction given (``desc`` when none is); ``created_at`` then ``id`` end every order, so paging is
stable. ``limit`` is capped at ``MAX_LIMIT`` (no limit means that), 0 lists nothing; the ``marker`` is the
id of the last item of the previous page. Bad values are 400 with Masakari's messages: an unknown sort key,
a direction other than asc/desc, more directions than keys, a limit that is not a whole number >= 0, an
unknown marker, a boolean filter that is not one of strutils' strict words.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webob.multidict import MultiDict

from vmha.api.web import ApiError

MAX_LIMIT = 1000
"""Masakari's osapi_max_limit default."""
DEFAULT_ORDER = (("created_at", True), ("id", True))
_STRICT_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_STRICT_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})

View = dict[str, Any]
Query = MultiDict[str, str]


@dataclass(frozen=True)
class Listing:
    """One list request's page and order; ``order`` holds (key, descending) pairs."""

    limit: int
    marker: str | None
    order: tuple[tuple[str, bool], ...]

    @property
    def default_order(self) -> bool:
        """Whether the caller asked for no order of its own (newest first)."""
        return self.order == DEFAULT_ORDER


def listing(query: Query, sortable: frozenset[str]) -> Listing:
    """The paging and order of a list request; ApiError 400."""
    return Listing(_limit(query), query.get("marker"), _order(query, sortable))


def flag(query: Query, name: str) -> bool | None:
    """The boolean filter ``name`` (None when absent); 400 unless it is one of strutils' strict words."""
    if name not in query:
        return None
    word = query[name].strip().lower()
    if word in _STRICT_TRUE | _STRICT_FALSE:
        return word in _STRICT_TRUE
    allowed = ", ".join(f"'{value}'" for value in sorted(_STRICT_TRUE | _STRICT_FALSE))
    raise ApiError(400, f"Invalid value for {name}: Unrecognized value '{query[name]}', acceptable values are: "
                        f"{allowed}")


def arrange(views: Sequence[View], chosen: Listing, everything: Sequence[View] | None = None) -> list[View]:
    """``views`` in the chosen order, the page after the marker; the marker is looked up in ``everything``
    (the views before filtering, as Masakari looks a marker up in the whole table), default ``views``."""
    ordered = sorted(views, key=functools.cmp_to_key(_comparer(chosen.order)))
    if chosen.marker is not None:
        marker = next((view for view in (everything or views) if view["id"] == chosen.marker), None)
        if marker is None:
            raise ApiError(400, f"Marker {chosen.marker} could not be found.")
        compare = _comparer(chosen.order)
        ordered = [view for view in ordered if compare(view, marker) > 0]
    return ordered[:chosen.limit]


def _limit(query: Query) -> int:
    if "limit" not in query:
        return MAX_LIMIT
    text = query["limit"]
    try:
        limit = int(text)
    except ValueError:
        raise ApiError(400, f"Invalid input received: limit must be an integer, got {text!r}") from None
    if limit < 0:
        raise ApiError(400, f"Invalid input received: limit must be >= 0, got {limit}")
    return min(limit, MAX_LIMIT)


def _order(query: Query, sortable: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    keys = [key.strip() for key in query.getall("sort_key")]
    directions = [direction.strip() for direction in query.getall("sort_dir")]
    if any(direction not in ("asc", "desc") for direction in directions):
        raise ApiError(400, "Invalid input received: Unknown sort direction, must be 'asc' or 'desc'")
    if len(directions) > max(len(keys), 1):
        raise ApiError(400, "Invalid input received: Sort direction size exceeds sort key size")
    unknown = [key for key in keys if key not in sortable]
    if unknown:
        raise ApiError(400, f"Sort key supplied was not valid: {unknown[0]} (valid: {', '.join(sorted(sortable))})")
    default = directions[0] if directions else "desc"
    directions += [default] * (len(keys) - len(directions))
    pairs = list(zip(keys, (direction == "desc" for direction in directions), strict=True))
    pairs += [(key, default == "desc") for key, _ in DEFAULT_ORDER if key not in keys]
    return tuple(pairs)


def _comparer(order: tuple[tuple[str, bool], ...]) -> Callable[[View, View], int]:
    def compare(left: View, right: View) -> int:
        for key, descending in order:
            a, b = _rank(left.get(key)), _rank(right.get(key))
            if a != b:
                return (1 if a > b else -1) * (-1 if descending else 1)
        return 0
    return compare


def _rank(value: object) -> tuple[int, Any]:
    """A comparable form of a view's value: None sorts before any value, as SQL's NULLS FIRST."""
    return (0, "") if value is None else (1, value)


def query_filters(query: Query, names: Sequence[str]) -> Mapping[str, str]:
    """The plain equality filters among ``names`` that the request gives."""
    return {name: query[name] for name in names if name in query}
