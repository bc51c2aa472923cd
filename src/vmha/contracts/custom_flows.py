"""Custom flows (``custom_flows.schema.json``): the operator's pre/main/post step lists per failure type.

Like Masakari's custom recovery methods file, but the lists name step ids of the step table, checked when
the file is loaded: a typo fails start-up, naming the unknown ids, instead of failing a recovery.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmha.contracts.errors import ContractError
from vmha.contracts.validation import check, load_document

_PARTS = ("pre", "main", "post")
_SLOTS = (("COMPUTE_HOST", "auto"), ("COMPUTE_HOST", "reserved_host"), ("VM",), ("PROCESS",))


@dataclass(frozen=True)
class FlowSteps:
    """One flow as step ids. For reserved_host recovery, ``main`` is re-run for each reserved host tried."""

    pre: tuple[str, ...]
    main: tuple[str, ...]
    post: tuple[str, ...]

    @property
    def steps(self) -> tuple[str, ...]:
        """All step ids in running order."""
        return self.pre + self.main + self.post


@dataclass(frozen=True)
class CustomFlows:
    """The operator's flows; None where the built-in flow stays."""

    host_auto: FlowSteps | None = None
    host_reserved_host: FlowSteps | None = None
    vm: FlowSteps | None = None
    process: FlowSteps | None = None


def load_custom_flows(path: Path | str, known_steps: Collection[str]) -> CustomFlows:
    """Read and check the custom flows file (YAML, or JSON if named ``*.json``)."""
    return parse_custom_flows(load_document(Path(path)), known_steps)


def parse_custom_flows(document: Any, known_steps: Collection[str]) -> CustomFlows:
    """Check a decoded custom flows document; raises ContractError naming the field or unknown step ids."""
    check("custom_flows", document)
    unknown = [(path, step) for path, step in _entries(document) if step not in known_steps]
    if unknown:
        listed = ", ".join(f"{step!r} at {path}" for path, step in unknown)
        known = ", ".join(sorted(known_steps))
        raise ContractError(f"unknown step id {listed}; known step ids: {known}", unknown[0][0])
    host_auto, host_reserved_host, vm, process = (_flow(_find(document, slot)) for slot in _SLOTS)
    return CustomFlows(host_auto=host_auto, host_reserved_host=host_reserved_host, vm=vm, process=process)


def _find(document: Mapping[str, Any], slot: tuple[str, ...]) -> Mapping[str, Any] | None:
    found: Mapping[str, Any] | None = document
    for key in slot:
        found = found.get(key) if found is not None else None
    return found


def _entries(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    entries = []
    for slot in _SLOTS:
        flow = _find(document, slot) or {}
        for part in _PARTS:
            base = "/".join((*slot, part))
            entries += [(f"{base}/{index}", step) for index, step in enumerate(flow.get(part, ()))]
    return entries


def _flow(flow: Mapping[str, Any] | None) -> FlowSteps | None:
    if flow is None:
        return None
    return FlowSteps(pre=tuple(flow["pre"]), main=tuple(flow["main"]), post=tuple(flow["post"]))
