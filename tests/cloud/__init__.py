"""The local cloud: a small but real OpenStack control plane on 127.0.0.1 for tests, the demo and benchmarks.

Infrastructure (MariaDB, RabbitMQ, Redis, etcd) comes from Debian packages and OpenStack services
(Keystone, Placement, Glance, Neutron, Nova with fake compute hosts, Zaqar, Aodh + Ceilometer's
notification agent, Heat) from PyPI in their own virtualenv. Every process listens on a private port
and keeps its data under one directory (``VMHA_CLOUD_DIR``, default ``<repo>/.cloud``), so the cloud
never collides with services already on the machine. ``python -m tests.cloud up|down|status|...``.
"""
