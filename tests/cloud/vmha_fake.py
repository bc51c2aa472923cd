"""Nova virt driver for the local cloud, installed as ``nova.virt.vmha_fake`` (Nova loads drivers only
from its own package). It runs inside nova-compute, in the cloud's virtualenv.

Nova's FakeDriver gives its compute node a random UUID per process and keeps instances only in memory,
so a killed fake host could neither restart ("No local node identity found") nor act on its servers
afterwards. This driver takes the node UUID from the host's ``compute_id`` file (which the harness
writes into each host's own config directory) and re-adopts, at start-up, the instances the database
places on the host. It also forgets a live-migrated server on the source host, as a hypervisor does:
FakeDriver keeps it there, so evacuating it back to that host later failed with "Instance ... already exists".
"""

from nova import context as nova_context
from nova import objects
from nova.compute import power_state
from nova.virt import fake, node


class StableFakeDriver(fake.FakeDriver):
    """A FakeDriver whose hosts survive a restart."""

    def init_host(self, host):
        super().init_host(host)
        ctx = nova_context.get_admin_context()
        for instance in objects.InstanceList.get_by_host(ctx, host, expected_attrs=[]):
            if instance.uuid in self.instances:
                continue
            running = instance.power_state == power_state.RUNNING
            state = power_state.RUNNING if running else power_state.SHUTDOWN
            self.instances[instance.uuid] = fake.FakeInstance(instance.name, state, instance.uuid)

    def get_nodenames_by_uuid(self, refresh=False):
        return {node.get_local_node_uuid(): name for name in self.get_available_nodes()}

    def get_available_resource(self, nodename):
        resources = super().get_available_resource(nodename)
        resources["uuid"] = node.get_local_node_uuid()
        return resources

    def post_live_migration(self, context, instance, block_device_info, migrate_data=None):
        # Called on the source host once the server runs on the destination.
        self.destroy(context, instance, network_info=None, block_device_info=block_device_info)
