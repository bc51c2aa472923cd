"""The signed webhook URLs a deployed stack points Zaqar and Aodh at (heat/vmha.yaml's ``*_webhook_url``),
when its ``webhook_auth`` is ``signed``; with ``trust`` (the template's default) Zaqar and Aodh call the
gateway with Keystone tokens through trusts and nothing is signed.

They are signed for the stack's ``gateway_url`` (a parameter, or the environment files' value) with the
gateway's ``api.webhook_secret``; the secret itself never reaches Heat, only the signatures. Parameters
given explicitly are kept, so a stack can also be wired with URLs minted elsewhere (``vmha webhook-url``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmha.deploy.errors import DeployError
from vmha.signing import WEBHOOK_PATHS, signed_url

SIGNED_PARAMETERS = {"zaqar_webhook_url": "zaqar", "aodh_webhook_url": "aodh"}
"""Each template parameter that holds a signed URL, and whose webhook it is."""
TRUST, SIGNED = "trust", "signed"
"""The template's ``webhook_auth`` values; TRUST is its default."""


def with_webhooks(parameters: Mapping[str, Any], environment: Mapping[str, Any], secret: str,
                  expires: int) -> dict[str, Any]:
    """``parameters`` completed, when the stack's webhook_auth is signed, with every signed URL parameter not
    given; DeployError without a secret or a gateway URL to sign them for."""
    if (parameters.get("webhook_auth") or _environment_value(environment, "webhook_auth") or TRUST) != SIGNED:
        return dict(parameters)
    missing = [name for name in SIGNED_PARAMETERS if name not in parameters]
    if not missing:
        return dict(parameters)
    if not secret:
        raise DeployError(f"cannot sign {', '.join(missing)}: no api.webhook_secret (give the gateway's "
                           "settings file with --settings, or VMHA_API_WEBHOOK_SECRET)")
    base = parameters.get("gateway_url") or _environment_value(environment, "gateway_url")
    if not base:
        raise DeployError("cannot sign the webhook URLs: no gateway_url parameter (-p or an environment file)")
    signed = {name: signed_url(str(base), WEBHOOK_PATHS[SIGNED_PARAMETERS[name]], secret, expires)
              for name in missing}
    return {**parameters, **signed}


def _environment_value(environment: Mapping[str, Any], name: str) -> Any:
    """A parameter's value in a merged Heat environment (``parameters`` win over ``parameter_defaults``)."""
    for section in ("parameters", "parameter_defaults"):
        value = (environment.get(section) or {}).get(name)
        if value:
            return value
    return None
