"""vmha: virtual-machine high availability for OpenStack, as one-step functions chained through Zaqar."""

__version__ = "0.1.0"
