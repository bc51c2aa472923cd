"""Deploying vmha's Heat stack (``heat/``) with openstacksdk's orchestration proxy: ``vmha deploy``.

``StackRequest`` names the stack, its environment files and parameters; ``deploy`` creates the stack or
updates it in place (a second run with the same request changes nothing), reporting Heat's resource
events as they come, and returns the stack's outputs as a ``Deployment``; ``validate`` asks Heat to check
a template; ``delete`` removes the stack.
"""

from vmha.deploy.outputs import Deployment
from vmha.deploy.stack import (
    Bundle,
    DeployError,
    StackRequest,
    bundle,
    delete,
    deploy,
    validate,
)

__all__ = ["Bundle", "DeployError", "Deployment", "StackRequest", "bundle", "delete", "deploy", "validate"]
