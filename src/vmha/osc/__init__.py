"""The ``openstack vmha ...`` commands: an OpenStackClient plugin (entry points ``openstack.cli.extension``
and ``openstack.vmha.v1`` in pyproject), a client of the gateway's HTTP API only.

- ``segment list/show/create/set/delete``: failover segments (Nova host aggregates with ``vmha:`` keys);
- ``host list/add/remove/set``: a segment's hosts, reserved (spare) and maintenance flags;
- ``notification list/show/create``, ``notification vmove list/show``: recoveries and the servers they moved;
- ``function list/invoke``: the gateway's functions; invoke runs one on the gateway.
- ``flow show``: the steps a failure type runs on the gateway.

The gateway is found in the Keystone catalog (service type ``instance-ha``, ``vmha.osc.client``) with the
usual OSC credentials, region and interface: a workstation needs clouds.yaml only. Segments deployed by Heat
belong to the stack (the gateway refuses changes to them): change them with ``vmha deploy``.
"""
