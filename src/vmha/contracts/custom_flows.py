"""Custom flows (``custom_flows.schema.json``): the operator's pre/main/post step lists per failure type, an
``on_failure`` list, and the operator's own steps (``CustomStep``: an entry point or a webhook).

Like Masakari's custom recovery methods file, but the lists name step ids of the step table or of the file's
own steps, checked when the file is loaded: a typo fails start-up, naming the unknown ids, instead of failing
a recovery.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vmha.contracts.errors import ContractError
from vmha.contracts.validation import check, load_document

_PARTS = ("pre", "main", "post", "on_failure")
_SLOTS = (("COMPUTE_HOST", "auto"), ("COMPUTE_HOST", "reserved_host"), ("VM",), ("PROCESS",))


@dataclass(frozen=True)
class FlowSteps:
    """One flow as step ids. For reserved_host recovery, ``main`` is re-run for each reserved host tried."""

    pre: tuple[str, ...]
    main: tuple[str, ...]
    post: tuple[str, ...]
    on_failure: tuple[str, ...] = ()
    """Custom steps run once each when a recovery of this flow ends failed; not part of ``steps``."""

    @property
    def steps(self) -> tuple[str, ...]:
        """All step ids in running order."""
        return self.pre + self.main + self.post


class StepKind(StrEnum):
    """Where a step's code lives: vmha's step table, an entry point of the operator's, a webhook."""

    BUILT_IN = "built-in"
    ENTRY_POINT = "entry_point"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class CustomStep:
    """One of the operator's steps (schema: ``$defs/custom_step``)."""

    id: str
    kind: StepKind
    target: str
    """The entry point's name in the group ``vmha.steps``, or the webhook's URL."""
    per_instance: bool
    timeout_seconds: int
    max_attempts: int


@dataclass(frozen=True)
class CustomFlows:
    """The operator's flows; None where the built-in flow stays; ``steps``: the operator's own steps by id."""

    host_auto: FlowSteps | None = None
    host_reserved_host: FlowSteps | None = None
    vm: FlowSteps | None = None
    process: FlowSteps | None = None
    steps: Mapping[str, CustomStep] = field(default_factory=dict)


def load_custom_flows(path: Path | str, known_steps: Collection[str]) -> CustomFlows:
    """Read and check the custom flows file (YAML, or JSON if named ``*.json``)."""
    return parse_custom_flows(load_document(Path(path)), known_steps)


def parse_custom_flows(document: Any, known_steps: Collection[str]) -> CustomFlows:
    """Check a decoded custom flows document; raises ContractError naming the field or unknown step ids.

    ``known_steps``: the step table's ids; the document's own ``steps`` are known too.
    """
    check("custom_flows", document)
    custom = {key: _custom_step(key, value) for key, value in document.get("steps", {}).items()}
    known = {*known_steps, *custom}
    entries = _entries(document)
    unknown = [(path, step) for path, step in entries if step not in known]
    if unknown:
        listed = ", ".join(f"{step!r} at {path}" for path, step in unknown)
        raise ContractError(f"unknown step id {listed}; known step ids: {', '.join(sorted(known))}", unknown[0][0])
    built_in = [(path, step) for path, step in entries if path.split("/")[-2] == "on_failure" and step not in custom]
    if built_in:
        path, step = built_in[0]
        raise ContractError(f"on_failure lists custom steps only, not the built-in step {step}", path)
    host_auto, host_reserved_host, vm, process = (_flow(_find(document, slot)) for slot in _SLOTS)
    return CustomFlows(host_auto=host_auto, host_reserved_host=host_reserved_host, vm=vm, process=process,
                       steps=custom)


def _custom_step(step_id: str, entry: Mapping[str, Any]) -> CustomStep:
    kind = StepKind.WEBHOOK if "webhook" in entry else StepKind.ENTRY_POINT
    target = entry[kind.value]
    if kind is StepKind.WEBHOOK and not _web_url(target):
        raise ContractError(f"the webhook {target!r} is not an http(s)://host[:port]/... URL",
                            f"steps/{step_id}/webhook")
    return CustomStep(step_id, kind, target, entry.get("per_instance", False), entry.get("timeout_seconds", 10),
                      entry.get("max_attempts", 3))


def _web_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


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
    return FlowSteps(pre=tuple(flow["pre"]), main=tuple(flow["main"]), post=tuple(flow["post"]),
                     on_failure=tuple(flow.get("on_failure", ())))
