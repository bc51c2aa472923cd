"""vmha: virtual-machine high availability for OpenStack, as one-step functions chained through Zaqar."""

import warnings

__version__ = "0.1.0"

# oslo.messaging (the versioned notifications) requires oslo.service, which installs eventlet; futurist (under
# tooz) then imports eventlet, whose import warns that it is deprecated. vmha never uses eventlet.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
# eventlet imports dnspython, whose DNSSEC module names cryptography's DSA classes; cryptography 51 warns at
# each such name (CryptographyDeprecationWarning). vmha never uses DNSSEC or DSA.
warnings.filterwarnings("ignore", message=r"DSA is deprecated", module=r"dns\.dnssecalgs\.")
