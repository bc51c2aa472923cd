"""`tools/demo --hypervisor kvm` in brief: `vmha demo` on the kvm profile's hosts (real QEMU guests of the tiny
guest image under Nova's libvirt driver) takes only the hosts that can run its image, kills kvm-host-1 with two
servers on it and ends with both ACTIVE on kvm-host-2; the fake image's hosts and the kvm guest's never mix."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.cloud import catalog, helpers, kvm_hosts
from tests.cloud.layout import COMPUTE_HOSTS, KVM_HOSTS, Layout
from tests.integration.test_kvm_recovery_e2e import kvm_layout
from tests.integration.test_vmha_demo import _final_table, run_demo
from vmha.demo.hosts import DemoError, image_hosts
from vmha.demo.run import usable_hosts
from vmha.fencing import PowerState, load_fencing_config, power_driver

pytestmark = pytest.mark.kvm
__all__ = ["kvm_layout"]  # the kvm profile's fixture, shared with the e2e test
FAILED, TARGET = KVM_HOSTS


def test_the_demo_takes_the_hosts_that_can_run_its_image(kvm_layout: Layout, admin_conn: Any) -> None:
    fake = admin_conn.image.find_image(catalog.IMAGE_NAME, ignore_missing=False)
    guest = admin_conn.image.find_image(kvm_hosts.IMAGE_NAME, ignore_missing=False)
    assert image_hosts(admin_conn, guest) == set(KVM_HOSTS)
    assert image_hosts(admin_conn, fake) >= set(COMPUTE_HOSTS)
    assert not image_hosts(admin_conn, fake) & set(KVM_HOSTS)
    with pytest.raises(DemoError, match=rf"{FAILED} cannot run the image {catalog.IMAGE_NAME} .*hypervisor type "
                                        r"fake\): choose --host among compute"):
        usable_hosts(admin_conn, FAILED, catalog.IMAGE_NAME)


def test_the_kvm_demo_recovers_the_killed_hosts_guests_on_the_other(kvm_layout: Layout, admin_conn: Any) -> None:
    fencing_file = kvm_hosts.fencing_yaml(kvm_layout)
    done = run_demo(kvm_layout, admin_conn, FAILED, fencing_file,
                    "--image", kvm_hosts.IMAGE_NAME, "--flavor", kvm_hosts.FLAVOR_NAME)
    out = done.stdout
    assert done.returncode == 0, out[-6000:] + done.stderr[-4000:]
    assert re.search(rf"\[heat\]\s+segment vmha-demo-\w+ over {FAILED}, {TARGET} \(fencing required\)", out), out
    assert re.search(rf"\[fencing\]\s+{FAILED} powered off through its BMC \(redfish http://\S+\): the BMC confirms "
                     r"power off", out), out[-6000:]
    rows = _final_table(out)
    assert [(row["OLD HOST"], row["NEW HOST"], row["STATE"]) for row in rows] == [(FAILED, TARGET, "ACTIVE")] * 2
    assert re.search(r"^recovery time: \d+\.\d s ", out, re.MULTILINE)
    assert power_driver(load_fencing_config(fencing_file)[FAILED]).power_state() is PowerState.ON
    service = helpers.compute_service(admin_conn, FAILED)
    assert (service.state, service.status, service.is_forced_down) == ("up", "enabled", False)
    assert not [server for server in admin_conn.compute.servers() if server.name.startswith("vmha-demo-")]
