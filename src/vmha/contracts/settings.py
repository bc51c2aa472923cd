"""Operator settings (``settings.schema.json``): schema defaults, then the file, then ``VMHA_*`` variables.

The schema is the single source of each field's type, range, description and default; the dataclasses
here only give the fields Python types (a test keeps both in step). The environment twin of a field is
``VMHA_`` followed by its path joined with ``_`` in upper case: ``journal_url`` -> ``VMHA_JOURNAL_URL``,
``retry.max_attempts`` -> ``VMHA_RETRY_MAX_ATTEMPTS``, ``exclusions.tags`` -> ``VMHA_EXCLUSIONS_TAGS``.
Booleans read true/false, yes/no, on/off or 1/0; lists are comma-separated. ``environment_variables()``
lists them all.
"""

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from vmha.contracts.errors import ContractError
from vmha.contracts.monitor_settings import MonitorOptions
from vmha.contracts.validation import check, load_document
from vmha.templates import load_schema

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")


@dataclass(frozen=True)
class QueueNames:
    """Zaqar queue names (schema: ``queues``)."""

    notifications: str
    steps: str
    dead_letters: str


@dataclass(frozen=True)
class RetryPolicy:
    """Step retries and confirm re-checks (schema: ``retry``)."""

    max_attempts: int
    initial_delay_seconds: int
    max_delay_seconds: int
    multiplier: float
    recheck_interval_seconds: float


@dataclass(frozen=True)
class Ceilings:
    """Longest waits before recovery is declared failed (schema: ``ceilings``)."""

    notification_seconds: int
    service_disable_seconds: int
    evacuation_seconds: int
    power_off_seconds: int
    power_on_seconds: int
    fencing_seconds: int


@dataclass(frozen=True)
class FailbackOptions:
    """Live migrations back to a returned host (schema: ``failback``)."""

    max_parallel: int
    migration_seconds: int


@dataclass(frozen=True)
class HostFailureOptions:
    """COMPUTE_HOST recovery options (schema: ``host_failure``)."""

    evacuate_all_instances: bool
    ignore_instances_in_error_state: bool
    add_reserved_host_to_aggregate: bool
    mass_failure_share: float
    max_parallel_evacuations: int
    service_disable_reason: str


@dataclass(frozen=True)
class InstanceFailureOptions:
    """VM recovery options (schema: ``instance_failure``)."""

    process_all_instances: bool
    restart_limit: int
    restart_window_seconds: int


@dataclass(frozen=True)
class ProcessFailureOptions:
    """PROCESS recovery options (schema: ``process_failure``)."""

    service_disable_reason: str


@dataclass(frozen=True)
class Exclusions:
    """Servers never recovered automatically (schema: ``exclusions``)."""

    tags: tuple[str, ...]
    projects: tuple[str, ...]
    images: tuple[str, ...]


@dataclass(frozen=True)
class GatewayOptions:
    """The queue consumer of ``vmha gateway`` (schema: ``gateway``)."""

    cloud: str
    workers: int
    poll_interval_seconds: float
    claim_ttl_seconds: int
    claim_grace_seconds: int
    max_claims: int
    poison_failures: int
    takeover_seconds: float
    sweep_interval_seconds: float
    listen_host: str
    listen_port: int


@dataclass(frozen=True)
class ApiOptions:
    """The gateway's HTTP API (schema: ``api``)."""

    config_file: str
    webhook_secret: str
    max_body_bytes: int


@dataclass(frozen=True)
class HttpOptions:
    """The gateway's HTTP server (schema: ``http``)."""

    threads: int
    request_timeout_seconds: float
    idle_timeout_seconds: int
    max_idle_connections: int
    tls_cert_file: str
    tls_key_file: str
    proxy_headers: bool


@dataclass(frozen=True)
class TimeoutOptions:
    """How long the gateway waits for each dependency per request (schema: ``timeouts``)."""

    openstack_seconds: float
    journal_seconds: float
    coordination_seconds: float


@dataclass(frozen=True)
class EscalationOptions:
    """vmha's own event when a recovery ends failed (schema: ``escalation``)."""

    transport_url: str
    project_id: str


@dataclass(frozen=True)
class NotificationOptions:
    """Masakari's versioned notifications through oslo.messaging (schema: ``notifications``)."""

    transport_url: str
    topic: str
    timeout_seconds: float


@dataclass(frozen=True)
class NovaNotificationOptions:
    """Nova's versioned notifications, heard to wake waiting confirmations (schema: ``nova_notifications``)."""

    transport_url: str
    exchange: str
    topic: str
    poll_seconds: float
    timeout_seconds: float


@dataclass(frozen=True)
class CustomStepOptions:
    """The webhook steps of the custom flows file (schema: ``custom_steps``)."""

    webhook_secret: str
    max_payload_bytes: int
    max_answer_bytes: int
    answer_max_age_seconds: int


@dataclass(frozen=True)
class Settings:
    """All settings of one process; each field is described in ``settings.schema.json``."""

    journal_url: str
    coordination_url: str
    custom_flows_file: str
    fencing_file: str
    dedup_window_seconds: int
    ha_enabled_metadata_key: str
    priority_metadata_key: str
    queues: QueueNames
    retry: RetryPolicy
    ceilings: Ceilings
    failback: FailbackOptions
    host_failure: HostFailureOptions
    instance_failure: InstanceFailureOptions
    process_failure: ProcessFailureOptions
    exclusions: Exclusions
    gateway: GatewayOptions
    monitor: MonitorOptions
    api: ApiOptions
    http: HttpOptions
    timeouts: TimeoutOptions
    escalation: EscalationOptions
    notifications: NotificationOptions
    nova_notifications: NovaNotificationOptions
    custom_steps: CustomStepOptions


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the YAML/JSON file at ``path`` (None: no file) and ``environ`` (default: os.environ)."""
    document = {} if path is None else load_document(Path(path))
    return parse_settings(document, os.environ if environ is None else environ)


def parse_settings(document: Any, environ: Mapping[str, str]) -> Settings:
    """Settings from a decoded settings file and ``VMHA_*`` variables; raises ContractError naming the field."""
    check("settings", document)
    merged = _merge(_defaults(_properties()), document)
    for name, path in environment_variables().items():
        if name in environ:
            merged = _merge(merged, _override(name, path, environ[name]))
    return _build(Settings, merged)


def environment_variables() -> dict[str, tuple[str, ...]]:
    """Each environment twin and the field path it sets, e.g. VMHA_RETRY_MAX_ATTEMPTS: (retry, max_attempts)."""
    return {"VMHA_" + "_".join(path).upper(): path for path, _ in _leaves(_properties())}


def _properties() -> dict[str, Any]:
    properties: dict[str, Any] = load_schema("settings")["properties"]
    return properties


def _leaves(properties: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, schema in properties.items():
        if "properties" in schema:
            yield from _leaves(schema["properties"], (*prefix, key))
        else:
            yield (*prefix, key), schema["default"]


def _defaults(properties: Mapping[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for path, default in _leaves(properties):
        defaults = _merge(defaults, _nest(path, default))
    return defaults


def _override(name: str, path: tuple[str, ...], text: str) -> dict[str, Any]:
    default = dict(_leaves(_properties()))[path]
    try:
        value = _PARSERS[type(default)](text)
    except ValueError as exc:
        raise ContractError(f"cannot read {text!r} as {type(default).__name__}", name) from exc
    partial = _nest(path, value)
    try:
        check("settings", partial)
    except ContractError as exc:
        raise ContractError(f"{exc.message} (sets {exc.path})", name) from exc
    return partial


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise ValueError(text)


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


_PARSERS: dict[type, Callable[[str], Any]] = {bool: _boolean, int: int, float: float, list: _list, str: str}


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(path[1:]):
        value = {key: value}
    return {path[0]: value}


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        merged[key] = _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def _build(cls: type[_D], values: Mapping[str, Any]) -> _D:
    hints = get_type_hints(cls)
    return cls(**{item.name: _typed(hints[item.name], values[item.name]) for item in fields(cls)})


def _typed(hint: Any, value: Any) -> Any:
    if isinstance(hint, type) and is_dataclass(hint):
        return _build(hint, value)
    if isinstance(value, list):
        return tuple(value)
    return float(value) if hint is float else value
