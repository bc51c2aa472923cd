"""Compute-host monitors (installed as ``vmha.monitors``): detectors that post notifications to Zaqar."""
