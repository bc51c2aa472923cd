"""vmha: virtual-machine high availability for OpenStack, as one-step functions chained through Zaqar."""

import warnings

__version__ = "0.1.0"

# oslo.messaging (the versioned notifications) requires oslo.service, which installs eventlet; futurist (under
# tooz) then imports eventlet, whose import warns that it is deprecated. vmha never uses eventlet.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
