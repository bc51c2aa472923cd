"""The failover capacity check: which hosts are assumed lost, where their servers would go, the verdict."""

from __future__ import annotations

from vmha.capacity import HostCapacity, Movable, check
from vmha.contracts import RecoveryMethod

AUTO, RESERVED, AUTO_PRIORITY = RecoveryMethod.AUTO, RecoveryMethod.RESERVED_HOST, RecoveryMethod.AUTO_PRIORITY


def server(name: str, vcpu: float, memory: float, disk: float = 10) -> Movable:
    return Movable(f"id-{name}", name, {"VCPU": vcpu, "MEMORY_MB": memory, "DISK_GB": disk})


def host(name: str, vcpu: float, memory: float, *servers: Movable, used_by_others: float = 0,
         reserved: bool = False, schedulable: bool = True) -> HostCapacity:
    held = {"VCPU": sum(s.resources["VCPU"] for s in servers),
            "MEMORY_MB": sum(s.resources["MEMORY_MB"] for s in servers) + used_by_others,
            "DISK_GB": sum(s.resources["DISK_GB"] for s in servers)}
    return HostCapacity(name, {"VCPU": vcpu, "MEMORY_MB": memory, "DISK_GB": 1000}, held, servers,
                        reserved=reserved, schedulable=schedulable)


def test_the_largest_host_is_assumed_lost_and_its_servers_fit_on_the_others() -> None:
    hosts = [host("a", 16, 8192, server("a1", 2, 2048)),
             host("b", 16, 8192, server("b1", 4, 4096), server("b2", 2, 1024)),
             host("c", 16, 8192)]
    verdict = check("seg", AUTO, hosts)
    assert verdict.lost == ("b",)
    assert verdict.targets == ("a", "c")
    assert verdict.absorbs
    assert verdict.demand["MEMORY_MB"] == 5120
    assert verdict.headroom["MEMORY_MB"] == (8192 - 2048) + 8192 - 5120


def test_a_server_that_fits_nowhere_whole_fails_the_segment_though_the_sum_would_fit() -> None:
    hosts = [host("a", 16, 8192, server("big", 4, 6144)),
             host("b", 16, 8192, used_by_others=4096),
             host("c", 16, 8192, used_by_others=4096)]
    verdict = check("seg", AUTO, hosts)
    assert verdict.lost == ("a",)
    assert verdict.headroom["MEMORY_MB"] > 0
    assert verdict.unplaced == ("big",)
    assert not verdict.absorbs


def test_two_failures_lose_the_two_hosts_with_most_to_move() -> None:
    hosts = [host("a", 8, 4096, server("a1", 1, 512)),
             host("b", 8, 4096, server("b1", 2, 2048)),
             host("c", 8, 4096, server("c1", 2, 1536)),
             host("d", 8, 4096)]
    verdict = check("seg", AUTO, hosts, failures=2)
    assert set(verdict.lost) == {"b", "c"}
    assert verdict.absorbs
    assert not check("seg", AUTO, [*hosts[:3], host("d", 8, 512)], failures=3).absorbs


def test_the_recovery_method_chooses_the_targets() -> None:
    hosts = [host("a", 8, 4096, server("a1", 2, 2048)),
             host("b", 8, 4096),
             host("spare", 8, 4096, reserved=True, schedulable=False)]
    assert check("seg", AUTO, hosts).targets == ("b",)
    assert check("seg", RESERVED, hosts).targets == ("spare",)
    assert check("seg", AUTO_PRIORITY, hosts).targets == ("b", "spare")
    assert check("seg", RESERVED, hosts).lost == ("a",), "a reserved host is never the one assumed lost"


def test_a_host_that_is_down_or_disabled_takes_nothing() -> None:
    hosts = [host("a", 8, 4096, server("a1", 2, 2048)), host("b", 8, 4096, schedulable=False)]
    verdict = check("seg", AUTO, hosts)
    assert verdict.targets == ()
    assert verdict.unplaced == ("a1",)
    assert verdict.headroom["MEMORY_MB"] == -2048


def test_a_host_with_nothing_to_move_is_absorbed_by_any_segment() -> None:
    verdict = check("seg", AUTO, [host("a", 8, 4096), host("b", 8, 4096)])
    assert verdict.absorbs
    assert verdict.demand == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
