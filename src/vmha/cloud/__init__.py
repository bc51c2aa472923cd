"""Reads of the cloud's own state shared by the gateway's API, the recovery steps and the operator tools.

``segments``: the failover segments (Nova host aggregates with ``vmha:`` metadata) and vmha's disabled-reason
mark on nova-compute services. ``nova``: Nova's compute services and servers as vmha looks them up. Core
modules: they import neither the steps (``vmha.functions``) nor the runtime.
"""
