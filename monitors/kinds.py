"""The monitors ``vmha monitor`` can run, named without importing them (libvirt-python is a compute host's
dependency only: the ``vmha`` command runs on controllers too)."""

KINDS = ("instance", "introspective", "process")
"""What ``vmha monitor all`` starts."""
HOST = "host"
"""The host monitor runs only when named: it needs its segment (``monitor.host``), ``all`` does not start it."""
