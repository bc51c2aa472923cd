"""The HOT templates that deploy vmha (installed as ``vmha.heat``): data only, this module finds them.

``vmha.yaml`` is the top-level template; it composes ``wiring.yaml`` (queues and Zaqar subscriptions),
``alarms.yaml`` (Aodh event alarms) and one ``segment.yaml`` per failover segment (through
``segment_entry.yaml``, the member of its resource group). ``environments/`` holds one environment file
per cloud, e.g. ``local-cloud.yaml`` for the local test cloud.
"""

from importlib import resources
from pathlib import Path

TOP_LEVEL = "vmha.yaml"


def template_path(name: str = TOP_LEVEL) -> Path:
    """The file of the template ``name`` (as a real path: Heat clients resolve nested templates beside it)."""
    return Path(str(resources.files(__name__).joinpath(name)))


def template_names() -> list[str]:
    """Every template's file name."""
    return sorted(entry.name for entry in resources.files(__name__).iterdir() if entry.name.endswith(".yaml"))


def environment_path(name: str) -> Path:
    """The environment file ``environments/<name>.yaml``."""
    return Path(str(resources.files(__name__).joinpath("environments", f"{name}.yaml")))
