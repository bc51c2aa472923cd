"""The one error of ``vmha.deploy``."""


class DeployError(Exception):
    """The stack could not be validated, created, updated or deleted; the message is for the operator."""
