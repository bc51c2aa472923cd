"""Fencing: power a failed compute host off through its BMC, and prove it, before anything is evacuated.

``load_fencing_config`` reads who to call (templates/fencing.schema.json); ``power_driver`` gives a
``PowerDriver`` speaking Redfish (sushy) or IPMI (pyghmi); ``BmcError`` is the one error (``BmcAuthError``
when the credentials were refused), its message safe to log (it never contains a secret).
"""

from vmha.fencing.config import BmcAccess, Protocol, load_fencing_config, parse_fencing_config
from vmha.fencing.power import BmcAuthError, BmcError, PowerDriver, PowerState, power_driver

__all__ = [
    "BmcAccess",
    "BmcAuthError",
    "BmcError",
    "PowerDriver",
    "PowerState",
    "Protocol",
    "load_fencing_config",
    "parse_fencing_config",
    "power_driver",
]
