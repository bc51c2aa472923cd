"""Deploying vmha's Heat stack (``heat/``) with openstacksdk's orchestration proxy: ``vmha deploy``.

``StackRequest`` names the stack, its environment files and parameters; ``deploy`` creates the stack or
updates it in place (a second run with the same request changes nothing), reporting Heat's resource
events as they come, and returns the stack's outputs as a ``Deployment``; ``validate`` asks Heat to check
a template; ``delete`` removes the stack. The stack's Zaqar subscriptions and Aodh alarms call the
gateway's signed webhook URLs, which ``deploy`` signs with the request's webhook secret.
"""

from vmha.deploy.errors import DeployError
from vmha.deploy.outputs import Deployment
from vmha.deploy.stack import (
    Bundle,
    StackRequest,
    bundle,
    delete,
    deploy,
    validate,
)
from vmha.deploy.webhooks import SIGNED_PARAMETERS, with_webhooks

__all__ = ["SIGNED_PARAMETERS", "Bundle", "DeployError", "Deployment", "StackRequest", "bundle", "delete", "deploy",
           "validate", "with_webhooks"]
