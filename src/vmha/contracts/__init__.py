"""The message contract: schemas in ``vmha.templates``, parsed once at the edge into frozen dataclasses.

One entry point per kind: ``parse_notification``, ``parse_step_message``, ``load_settings`` /
``parse_settings``, ``load_custom_flows`` / ``parse_custom_flows``; the sender side calls ``to_dict()``,
which validates too. Every violation raises ``ContractError`` with the offending field's path.
"""

from vmha.contracts.custom_flows import (
    CustomFlows,
    CustomStep,
    FlowSteps,
    StepKind,
    load_custom_flows,
    parse_custom_flows,
)
from vmha.contracts.enums import (
    ClusterStatus,
    FailureType,
    HostEvent,
    HostStatus,
    ProcessEvent,
    RecoveryMethod,
    VirDomainEvent,
    VmEvent,
)
from vmha.contracts.errors import ContractError
from vmha.contracts.metadata import opted_in, truthy
from vmha.contracts.monitor_settings import (
    HostMonitorOptions,
    InstanceMonitorOptions,
    IntrospectiveMonitorOptions,
    MonitorOptions,
    ProcessMonitorOptions,
    SinkOptions,
)
from vmha.contracts.notification import (
    HostPayload,
    Notification,
    Payload,
    ProcessPayload,
    VmPayload,
    parse_notification,
)
from vmha.contracts.settings import (
    ApiOptions,
    Ceilings,
    EscalationOptions,
    Exclusions,
    GatewayOptions,
    HostFailureOptions,
    HttpOptions,
    InstanceFailureOptions,
    NotificationOptions,
    NovaNotificationOptions,
    ProcessFailureOptions,
    QueueNames,
    RetryPolicy,
    Settings,
    environment_variables,
    load_settings,
    parse_settings,
)
from vmha.contracts.step import ArgValue, StepMessage, parse_step_message
from vmha.contracts.validation import MAX_DOCUMENT_BYTES, Raw

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "ApiOptions",
    "ArgValue",
    "Ceilings",
    "ClusterStatus",
    "ContractError",
    "CustomFlows",
    "CustomStep",
    "EscalationOptions",
    "Exclusions",
    "FailureType",
    "FlowSteps",
    "GatewayOptions",
    "HostEvent",
    "HostFailureOptions",
    "HostMonitorOptions",
    "HostPayload",
    "HostStatus",
    "HttpOptions",
    "InstanceFailureOptions",
    "InstanceMonitorOptions",
    "IntrospectiveMonitorOptions",
    "MonitorOptions",
    "Notification",
    "NotificationOptions",
    "NovaNotificationOptions",
    "Payload",
    "ProcessEvent",
    "ProcessFailureOptions",
    "ProcessMonitorOptions",
    "ProcessPayload",
    "QueueNames",
    "Raw",
    "RecoveryMethod",
    "RetryPolicy",
    "Settings",
    "SinkOptions",
    "StepKind",
    "StepMessage",
    "VirDomainEvent",
    "VmEvent",
    "VmPayload",
    "environment_variables",
    "load_custom_flows",
    "load_settings",
    "opted_in",
    "parse_custom_flows",
    "parse_notification",
    "parse_settings",
    "parse_step_message",
    "truthy",
]
