"""The host monitor (``vmha monitor host``): segment membership on tooz, failed hosts reported by a leader.

- ``coordination``: the segment's tooz group (etcd3 or Redis): heartbeats, leader lock, report markers;
- ``view``: who is in the group and who left, the same on every member;
- ``verdict``: report a host that left, or wait, from Nova's and the BMC's evidence (pure);
- ``checks``: asking Nova and the BMC;
- ``isolation``: what a host cut off from the group and its peers does to itself;
- ``monitor``: the loop; ``build`` puts it together from the settings.
"""
