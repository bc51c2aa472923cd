"""Who may call each API route: the rules of ``vmha.policies`` (Masakari's names and defaults, plus vmha's own)
enforced by oslo.policy.

Each route is guarded by the rule that documents its method and path (``rule_for``); the caller's credentials
(``Caller``: from the Keystone token, the Keystone EC2 credential that signed a Lambda call, or nothing for a
signed webhook or an anonymous route) are checked against it after authentication, and a refusal is a 403
naming the rule.

Overrides come from oslo.policy's own options in the ``[oslo_policy]`` section of the service config file
(``api.config_file``): ``policy_file`` (default ``policy.yaml``, looked for beside that file and in
``/etc/vmha/``; missing means the defaults) and ``policy_dirs``; a changed file is read again at the next call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from vmha.api.web import ApiError
from vmha.contracts import ContractError
from vmha.policies import list_rules, rule_for

__all__ = ["ANONYMOUS", "Caller", "Policy", "rule_for", "service_config"]


@dataclass(frozen=True)
class Caller:
    """Who made a request, as far as its authentication says: a Keystone user in a project with roles, or an
    identity without Keystone (``webhook:aodh``, ``anonymous``)."""

    identity: str
    user_id: str | None = None
    project_id: str | None = None
    roles: tuple[str, ...] = ()

    def credentials(self) -> dict[str, Any]:
        """oslo.policy's credentials of this caller (``is_admin`` is added by ``Policy``)."""
        return {"user_id": self.user_id, "project_id": self.project_id, "roles": list(self.roles)}


ANONYMOUS = Caller("anonymous")


def service_config(path: str) -> cfg.ConfigOpts:
    """The oslo.config options of the service config file at ``path`` (empty: no file, every default);
    ContractError naming ``api/config_file`` when it is missing or unreadable."""
    conf = cfg.ConfigOpts()
    try:
        conf([], project="vmha", default_config_files=[path] if path else [], validate_default_values=True)
    except cfg.Error as error:
        raise ContractError(str(error), "api/config_file") from error
    return conf


class Policy:
    """The rules in force: the defaults, overridden by the operator's policy file."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(list_rules())

    def allows(self, rule: str, caller: Caller, target: Mapping[str, Any]) -> bool:
        """Whether ``caller`` may do what ``rule`` guards on ``target``."""
        credentials = caller.credentials()
        credentials["is_admin"] = bool(self._enforcer.enforce("context_is_admin", {}, credentials))
        return bool(self._enforcer.enforce(rule, dict(target), credentials))

    def authorize(self, rule: str, caller: Caller, target: Mapping[str, Any]) -> None:
        """ApiError 403 unless ``caller`` may do what ``rule`` guards (Lambda's AccessDeniedException)."""
        if not self.allows(rule, caller, target):
            raise ApiError(403, f"Policy doesn't allow {rule} to be performed.", "AccessDeniedException")
