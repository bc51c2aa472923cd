"""A segment's own recovery policy: settings its aggregate may set for its recoveries alone, the gateway's
settings being the default for every key left out or left empty (as a Heat stack writes them).

``vmha:evacuate_all_instances``
    ``true`` or ``false``: ``host_failure.evacuate_all_instances`` for this segment's host recoveries.
``vmha:mass_failure_share``
    A share above 0 and at most 1: ``host_failure.mass_failure_share`` for this segment.
``vmha:excluded_tags``, ``vmha:excluded_projects``, ``vmha:excluded_images``
    Comma-separated lists replacing ``exclusions.tags``, ``.projects`` and ``.images`` for this segment's
    recoveries (host and instance ones).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from vmha.contracts import Settings

PREFIX = "vmha:"
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class SegmentPolicy:
    """The settings a segment sets for itself; None: the gateway's."""

    evacuate_all_instances: bool | None = None
    mass_failure_share: float | None = None
    excluded_tags: tuple[str, ...] | None = None
    excluded_projects: tuple[str, ...] | None = None
    excluded_images: tuple[str, ...] | None = None


def parse_policy(metadata: Mapping[str, str]) -> SegmentPolicy:
    """The policy an aggregate's metadata sets; ValueError naming the key of a bad value."""
    return SegmentPolicy(
        evacuate_all_instances=_flag(metadata.get(PREFIX + "evacuate_all_instances")),
        mass_failure_share=_share(metadata.get(PREFIX + "mass_failure_share")),
        excluded_tags=_names(metadata.get(PREFIX + "excluded_tags")),
        excluded_projects=_names(metadata.get(PREFIX + "excluded_projects")),
        excluded_images=_names(metadata.get(PREFIX + "excluded_images")),
    )


def applied(settings: Settings, policy: SegmentPolicy) -> Settings:
    """``settings`` with the segment's own values in place of the gateway's."""
    host_failure = settings.host_failure
    if policy.evacuate_all_instances is not None:
        host_failure = dataclasses.replace(host_failure, evacuate_all_instances=policy.evacuate_all_instances)
    if policy.mass_failure_share is not None:
        host_failure = dataclasses.replace(host_failure, mass_failure_share=policy.mass_failure_share)
    rules = settings.exclusions
    exclusions = dataclasses.replace(
        rules, tags=rules.tags if policy.excluded_tags is None else policy.excluded_tags,
        projects=rules.projects if policy.excluded_projects is None else policy.excluded_projects,
        images=rules.images if policy.excluded_images is None else policy.excluded_images)
    return dataclasses.replace(settings, host_failure=host_failure, exclusions=exclusions)


def _flag(text: str | None) -> bool | None:
    word = (text or "").strip().lower()
    if not word:
        return None
    if word not in _TRUE + _FALSE:
        raise ValueError(f"{PREFIX}evacuate_all_instances must be true or false, not {text!r}")
    return word in _TRUE


def _share(text: str | None) -> float | None:
    given = (text or "").strip()
    if not given:
        return None
    try:
        share = float(given)
    except ValueError:
        share = -1.0
    if not 0 < share <= 1:
        raise ValueError(f"{PREFIX}mass_failure_share must be a share above 0 and at most 1, not {text!r}")
    return share


def _names(text: str | None) -> tuple[str, ...] | None:
    names = tuple(name.strip() for name in (text or "").split(",") if name.strip())
    return names or None
