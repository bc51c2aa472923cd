"""The kvm profile's compute configuration (tests/cloud/kvm_hosts.py): what makes several libvirt-driver
nova-computes on one machine distinct hosts sharing one instances directory. Its behaviour on the real cloud
is tests/integration/test_kvm_recovery_e2e.py."""

from __future__ import annotations

from pathlib import Path

from tests.cloud import kvm_hosts
from tests.cloud.layout import KVM_HOSTS, Layout


def test_each_kvm_host_drives_its_own_libvirtd_and_all_share_one_instances_path(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    configs = {host: kvm_hosts.compute_config(layout, host, "qemu") for host in KVM_HOSTS}
    assert {host: config["DEFAULT"]["host"] for host, config in configs.items()} == {h: h for h in KVM_HOSTS}
    uris = [config["libvirt"]["connection_uri"] for config in configs.values()]
    assert len(set(uris)) == len(KVM_HOSTS)
    assert all(uri.startswith("qemu+unix:///system?socket=") and f"/libvirt-{host}/" in uri
               for host, uri in zip(KVM_HOSTS, uris, strict=True))
    assert {config["DEFAULT"]["instances_path"] for config in configs.values()} == {
        str(tmp_path / "state" / "nova" / "kvm-instances")}
    assert {config["DEFAULT"]["compute_driver"] for config in configs.values()} == {"libvirt.LibvirtDriver"}
    # 16 one-vCPU guests per host of the 2-vCPU machine: the recovery benchmark's 10 servers fit on one host
    assert {config["DEFAULT"]["cpu_allocation_ratio"] for config in configs.values()} == {"8.0"}
    # privsep through the cloud's own helper with the host's config files (no sudo on the machine)
    helper = configs[KVM_HOSTS[0]]["nova_sys_admin"]["helper_command"]
    assert helper.endswith(f"{tmp_path}/etc/nova/{KVM_HOSTS[0]}/compute.conf")


def test_the_guests_cpu_follows_the_accelerator(tmp_path: Path) -> None:
    tcg = kvm_hosts.compute_config(Layout(tmp_path), KVM_HOSTS[0], "qemu")["libvirt"]
    kvm = kvm_hosts.compute_config(Layout(tmp_path), KVM_HOSTS[0], "kvm")["libvirt"]
    assert (tcg["virt_type"], tcg["cpu_models"], tcg["tb_cache_size"]) == ("qemu", "qemu64", "32")
    assert "cpu_model_extra_flags" not in tcg
    assert (kvm["virt_type"], kvm["cpu_models"], kvm["cpu_model_extra_flags"]) == ("kvm", "qemu64", "-svm")
    assert "tb_cache_size" not in kvm
