"""The recovery benchmark's fencing paths: which host each fails in the local cloud's fencing file, the host
rules of a plan, and the fence read back from a real SQLite journal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.bench import fencing, recovery
from tests.bench.host_failure import BenchError, Plan, choose
from tests.cloud.bootstrap import write_fencing_config
from tests.cloud.layout import Layout
from tests.unit.journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification
from vmha.contracts import RecoveryMethod
from vmha.journal import FenceMethod, open_journal

HOSTS = ["compute1", "compute2", "compute3", "compute4"]


def test_each_kind_fails_the_hosts_whose_bmc_speaks_its_protocol(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    write_fencing_config(layout)
    assert {name: sorted(kind.hosts(layout)) for name, kind in fencing.KINDS.items()} == {
        "redfish": ["compute1", "compute2", "compute3"], "ipmi": ["compute4"], "selffence": HOSTS}
    assert [kind.method for kind in fencing.parse("ipmi,redfish,selffence")] == [
        FenceMethod.IPMI, FenceMethod.REDFISH, FenceMethod.SELF_FENCE]
    assert [kind.lease for kind in fencing.KINDS.values()] == [False, False, True]
    with pytest.raises(ValueError, match="unknown fencing self_fence"):
        fencing.parse("redfish,self_fence")


def test_the_last_host_the_kind_can_fail_fails_and_the_other_rules_stay() -> None:
    redfish = frozenset(HOSTS[:3])
    assert choose(HOSTS, RecoveryMethod.AUTO) == Plan("compute4", tuple(HOSTS), None)
    assert choose(HOSTS, RecoveryMethod.AUTO, redfish) == Plan("compute3", tuple(HOSTS), None)
    assert choose(HOSTS, RecoveryMethod.RESERVED_HOST, redfish) == Plan(
        "compute3", ("compute3", "compute4"), "compute4")
    assert choose(HOSTS, RecoveryMethod.RESERVED_HOST) == Plan("compute4", ("compute4", "compute3"), "compute3")
    with pytest.raises(BenchError, match=r"among \['compute4'\]"):
        choose(HOSTS[:3], RecoveryMethod.AUTO, frozenset({"compute4"}))
    with pytest.raises(BenchError, match="need two free compute hosts"):
        choose(["compute4"], RecoveryMethod.AUTO)


def test_the_fence_is_read_back_and_another_method_than_asked_fails_the_run(tmp_path: Path) -> None:
    clock = FakeClock()
    journal = open_journal(f"sqlite:///{tmp_path / 'journal.db'}", clock)
    t0 = clock()
    new = new_notification("compute4")
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    ipmi, redfish = fencing.KINDS["ipmi"], fencing.KINDS["redfish"]
    assert fencing.fenced(journal, new.id, "compute4", t0) is None
    assert fencing.mismatch(ipmi, None) == "no fence recorded, ipmi asked"
    clock.advance(timedelta(seconds=1.5))
    journal.record_fence(new.id, "compute4", FenceMethod.IPMI, {"bmc": "ipmi 127.0.0.1", "power": "off"})
    seen = fencing.fenced(journal, new.id, "compute4", t0)
    journal.close()
    assert seen == fencing.Fenced("ipmi", {"bmc": "ipmi 127.0.0.1", "power": "off"}, 1.5)
    assert seen.line() == "fenced by ipmi at 1.50 s: bmc ipmi 127.0.0.1, power off"
    assert (fencing.mismatch(ipmi, seen), fencing.mismatch(None, seen)) == (None, None)
    assert fencing.mismatch(redfish, seen) == "fenced by ipmi, redfish asked"


def test_the_self_fence_path_is_measured_end_to_end_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        recovery.main(["--fencing", "selffence", "--servers", "10"])
    assert exited.value.code == 2
    assert "--fencing selffence needs --detected" in capsys.readouterr().err
