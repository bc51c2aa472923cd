"""The ``openstack vmha ...`` commands: an OpenStackClient plugin (entry points ``openstack.cli.extension``
and ``openstack.vmha.v1`` in pyproject).

- ``segment list/show/create/set/delete``: failover segments, i.e. Nova host aggregates with ``vmha:`` keys;
- ``host list/add/remove/set``: a segment's hosts, reserved (spare) and maintenance flags;
- ``notification list/show/create``: recoveries from the journal; create posts to the notifications queue;
- ``function list/invoke``: the step table and intake; invoke runs a function's handler here;
- ``flow show``: the steps a failure type runs.

Credentials are the usual OSC ones; the journal and queue names come from vmha's settings
(``VMHA_SETTINGS_FILE`` and the ``VMHA_*`` variables, e.g. ``VMHA_JOURNAL_URL``). Segments deployed by Heat
belong to the stack: change them with ``vmha deploy`` so that a later stack update does not revert them.
"""
