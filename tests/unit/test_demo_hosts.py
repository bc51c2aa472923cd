"""The demo's host choice by image: Nova's ImagePropertiesFilter places an image asking for a hypervisor type
only on hypervisors of that type, so the demo's segment and servers take only the hosts that can run its image
(the fake hosts for the fake image, the kvm profile's for the kvm guest). The hypervisor list is given as Nova's
API reports it; the same choice on the real local cloud is in tests/integration/test_vmha_demo_kvm.py."""

from __future__ import annotations

from vmha.demo.hosts import runnable

CLOUD = [("compute1", "fake"), ("compute2", "fake"), ("kvm-host-1", "QEMU"), ("kvm-host-2", "QEMU")]


def test_an_image_for_the_fake_hypervisor_runs_on_the_fake_hosts_alone() -> None:
    assert runnable(CLOUD, "fake") == {"compute1", "compute2"}


def test_an_image_for_qemu_runs_on_libvirt_hosts_whatever_the_case_of_their_type() -> None:
    assert runnable(CLOUD, "qemu") == {"kvm-host-1", "kvm-host-2"}


def test_an_image_asking_for_no_hypervisor_runs_anywhere() -> None:
    assert runnable(CLOUD, None) == runnable(CLOUD, "") == {host for host, _ in CLOUD}


def test_an_image_for_a_hypervisor_the_cloud_lacks_runs_nowhere() -> None:
    assert runnable(CLOUD, "xen") == set()
