"""The API's default policy: one oslo.policy rule per route, Masakari's names and defaults for the Masakari
API, vmha's own for the rest (enforced by ``vmha.api.policy``).

The defaults follow Masakari's: every Masakari, functions and Lambda route is ``rule:admin_api``
(``is_admin:True``, which ``context_is_admin``, ``role:admin``, decides); the routes that authenticate otherwise
or not at all (version discovery, health, metrics, the wake-up, the signed webhooks) default to ``@`` (anyone
who got that far), so an operator can still close them with ``!``; a webhook called with a Keystone token (Aodh's
and Zaqar's trusts) is decided by a rule of its own (``TOKEN_WEBHOOK_RULES``), admin only by default. Each rule
documents the method and path of its routes; ``rule_for`` finds a route's rule by them. Data only (oslo.policy,
nothing of the API), so the oslo.policy tools load it alone: ``oslopolicy-sample-generator --namespace vmha``
writes the sample (``etc/vmha/policy.yaml.sample``) from ``list_rules``, registered under the
``oslo.policy.policies`` entry point. After changing a rule, regenerate the sample (a test compares them).
"""

from __future__ import annotations

from collections.abc import Mapping

from oslo_config import cfg
from oslo_policy import policy

ADMIN_API = "rule:admin_api"
ANYONE = "@"
_MASAKARI = "os_masakari_api"


def _rule(name: str, check: str, description: str, *operations: str) -> policy.DocumentedRuleDefault:
    """A rule guarding ``operations``, each ``"METHOD /path"``."""
    return policy.DocumentedRuleDefault(name=name, check_str=check, description=description, operations=[
        {"method": method, "path": path} for method, path in (operation.split(" ", 1) for operation in operations)])


def _masakari(resource: str, operations: Mapping[str, tuple[str, str, str]]) -> list[policy.DocumentedRuleDefault]:
    return [_rule(f"{_MASAKARI}:{resource}:{op}", ADMIN_API, what, f"{method} {path}")
            for op, (method, path, what) in operations.items()]


_SEGMENT, _HOSTS, _HOST = "/v1/segments/{segment_id}", "/v1/segments/{segment_id}/hosts", \
    "/v1/segments/{segment_id}/hosts/{host_id}"
_NOTIFICATION = "/v1/notifications/{notification_id}"

BASE_RULES = [
    policy.RuleDefault("context_is_admin", "role:admin", "Who is an administrator (is_admin:True)."),
    policy.RuleDefault("admin_api", "is_admin:True", "The default of every administrative route."),
]

MASAKARI_RULES = [
    _rule(f"{_MASAKARI}:versions:index", ANYONE, "Lists the API versions.", "GET /", "GET /v1"),
    *_masakari("segments", {
        "index": ("GET", "/v1/segments", "Lists failover segments (Nova aggregates with vmha: keys)."),
        "detail": ("GET", _SEGMENT, "Shows one failover segment."),
        "create": ("POST", "/v1/segments", "Creates a failover segment."),
        "update": ("PUT", _SEGMENT, "Changes a failover segment."),
        "delete": ("DELETE", _SEGMENT, "Deletes a failover segment."),
    }),
    *_masakari("os-hosts", {
        "index": ("GET", _HOSTS, "Lists the hosts of a segment."),
        "detail": ("GET", _HOST, "Shows one host of a segment."),
        "create": ("POST", _HOSTS, "Adds a compute host to a segment."),
        "update": ("PUT", _HOST, "Changes a segment's host (reserved, maintenance)."),
        "delete": ("DELETE", _HOST, "Removes a host from a segment."),
    }),
    *_masakari("notifications", {
        "index": ("GET", "/v1/notifications", "Lists notifications."),
        "detail": ("GET", _NOTIFICATION, "Shows one notification and its recovery's progress."),
        "create": ("POST", "/v1/notifications", "Reports a failure: starts a recovery."),
    }),
    *_masakari("vmoves", {
        "index": ("GET", f"{_NOTIFICATION}/vmoves", "Lists the servers a host recovery moved."),
        "detail": ("GET", f"{_NOTIFICATION}/vmoves/{{vmove_id}}", "Shows one server a host recovery moved."),
    }),
]

VMHA_RULES = [
    _rule("vmha:functions:index", ADMIN_API, "Lists the recovery functions and their input schemas.",
          "GET /v1/functions"),
    _rule("vmha:flows:detail", ADMIN_API, "Shows the steps a failure type runs, the operator's flows included.",
          "GET /v1/flows/{type}"),
    _rule("vmha:executions:create", ADMIN_API, "Runs a recovery step or the intake (Qinling-style execution).",
          "POST /v1/functions/{name}/executions"),
    _rule("vmha:executions:detail", ADMIN_API, "Shows a function execution.",
          "GET /v1/functions/{name}/executions/{execution_id}"),
    _rule("vmha:functions:invoke", ADMIN_API, "Runs a recovery step or the intake (AWS Lambda Invoke; the "
          "caller is the Keystone user of the EC2 credential that signed the call).",
          "POST /2015-03-31/functions/{name}/invocations"),
    _rule("vmha:functions:list", ADMIN_API, "Lists the recovery functions (AWS Lambda ListFunctions).",
          "GET /2015-03-31/functions"),
    _rule("vmha:functions:get", ADMIN_API, "Shows a recovery function (AWS Lambda GetFunction).",
          "GET /2015-03-31/functions/{name}"),
    _rule("vmha:functions:get_configuration", ADMIN_API, "Shows a recovery function's configuration (AWS "
          "Lambda GetFunctionConfiguration).", "GET /2015-03-31/functions/{name}/configuration"),
    _rule("vmha:segments:fencing:show", ADMIN_API, "Shows whether a segment's failed hosts are fenced before "
          "their servers are evacuated.", "GET /v1/segments/{segment_id}/fencing"),
    _rule("vmha:segments:fencing:update", ADMIN_API, "Changes whether a segment's failed hosts are fenced before "
          "their servers are evacuated.", "PUT /v1/segments/{segment_id}/fencing"),
    _rule("vmha:capacity:index", ADMIN_API, "Says whether each segment absorbs the loss of its hosts.",
          "GET /v1/capacity"),
    _rule("vmha:capacity:plan", ADMIN_API, "Says what a host's failure would do now.",
          "GET /v1/hosts/{name}/failover-plan"),
    _rule("vmha:hosts:return", ADMIN_API, "Returns a host vmha recovered to service (lifts forced_down, enables "
          "its nova-compute, gives back an unused reserved host).", "POST /v1/hosts/{name}/return"),
    _rule("vmha:hosts:failback", ADMIN_API, "Moves back to a host in service the servers its last recovery "
          "evacuated (live migrations).", "POST /v1/hosts/{name}/failback"),
    _rule("vmha:hosts:failback:cancel", ADMIN_API, "Cancels a host's failback under way (no further migration "
          "starts).", "DELETE /v1/hosts/{name}/failback"),
    _rule("vmha:report:index", ADMIN_API, "Reports the host recoveries' phase timelines against each segment's "
          "recovery time objective.", "GET /v1/report"),
    _rule("vmha:audit:index", ADMIN_API, "Lists the audit trail of the API's calls that run steps or change "
          "state.", "GET /v1/audit"),
    _rule("vmha:webhooks:aodh", ANYONE, "An Aodh alarm action (its signed URL already authenticated it): "
          "restarts a server of the alarm's project.", "POST /v1/webhooks/aodh"),
    _rule("vmha:webhooks:zaqar", ANYONE, "A Zaqar subscription push (signed URL): wakes the consumers.",
          "POST /v1/webhooks/zaqar"),
    _rule("vmha:webhooks:aodh:token", ADMIN_API, "An Aodh alarm action with a Keystone token (Aodh's trust+http "
          "actions: a token of the alarm's creator through a trust): restarts a server of the alarm's project.",
          "POST /v1/webhooks/aodh"),
    _rule("vmha:webhooks:zaqar:token", ADMIN_API, "A Zaqar subscription push with a Keystone token (Zaqar's "
          "trust+http subscribers): wakes the consumers.", "POST /v1/webhooks/zaqar"),
    _rule("vmha:wakeup", ANYONE, "A Zaqar push that wakes the consumers (rate-limited).", "POST /v1/wakeup"),
    _rule("vmha:healthz", ANYONE, "The gateway's liveness.", "GET /healthz"),
    _rule("vmha:metrics", ANYONE, "Prometheus metrics.", "GET /metrics"),
]


TOKEN_WEBHOOK_RULES = {"vmha:webhooks:aodh": "vmha:webhooks:aodh:token",
                       "vmha:webhooks:zaqar": "vmha:webhooks:zaqar:token"}
"""The rule of a webhook route's call that carries a Keystone token instead of a signed URL (``rule_for`` gives
the signed URL's: the first that documents the route)."""


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule (the ``oslo.policy.policies`` entry point ``vmha``)."""
    return [*BASE_RULES, *MASAKARI_RULES, *VMHA_RULES]


def rule_for(method: str, path: str) -> str:
    """The rule whose documented operation is ``method`` on ``path`` (a route's template, ``{name}`` for a path
    segment); KeyError for a route without one."""
    for rule in list_rules():
        operations = rule.operations if isinstance(rule, policy.DocumentedRuleDefault) else []
        if {"method": method, "path": path or "/"} in operations:
            return str(rule.name)
    raise KeyError(f"no policy rule documents {method} {path or '/'}")


def enforcer() -> policy.Enforcer:
    """The defaults on oslo.config's global options: the ``oslo.policy.enforcer`` entry point, through which
    ``oslopolicy-validator``, ``oslopolicy-list-redundant`` and ``oslopolicy-policy-generator --namespace vmha
    --config-file /etc/vmha/vmha.conf`` read an operator's policy file against these rules."""
    found = policy.Enforcer(cfg.CONF)
    found.register_defaults(list_rules())
    return found
