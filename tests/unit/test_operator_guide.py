"""Every command of docs/operator-guide.md is exercised by a test: each `sh` line is matched to the test file
that runs it (the command's words as that test passes them), so a command added to the guide without a test,
or a test that stops running it, fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operator-guide.md"

RUN_BY = {
    "pip install 'vmha[gateway]'": ("tests/unit/test_packaging.py", '"gateway": """'),
    "pip install 'vmha[monitor]'": ("tests/unit/test_packaging.py", '"monitor": """'),
    "vmha settings check --role monitor": ("tests/unit/test_settings_secrets.py",
                                           '"settings", "check", "--role", "monitor"'),
    "vmha settings check": ("tests/unit/test_settings_secrets.py", '"settings", "check", str(path)'),
    "vmha db upgrade": ("tests/unit/test_journal_upkeep.py", '"db", "upgrade"'),
    "vmha db purge --older-than": ("tests/unit/test_journal_upkeep.py", '"db", "purge", "--older-than"'),
    "vmha gateway --settings": ("tests/integration/recovery_support.py", '[VMHA, "gateway"]'),
    "vmha register-endpoint": ("tests/integration/test_register_endpoint.py", '"--internal-url"'),
    "openstack ec2 credentials create": ("tests/integration/test_osc_capacity.py", '"ec2", "credentials", "create"'),
    "oslopolicy-sample-generator --namespace vmha": ("tests/unit/test_api_policy.py", '"oslopolicy-sample-generator"'),
    "oslopolicy-validator --namespace vmha": ("tests/unit/test_api_policy.py", 'run("oslopolicy-validator")'),
    "vmha monitor all --config": ("tests/unit/test_monitors_cli.py", '["monitor", "process", "--config"'),
    "vmha deploy -e": ("tests/integration/test_vmha_deploy_cli.py", '"deploy", "--stack-name", name, "-e"'),
    "vmha webhook-url zaqar": ("tests/unit/test_signing.py", '"webhook-url", "zaqar"'),
    "openstack vmha segment list": ("tests/integration/test_osc_plugin.py", 'osc.json("segment", "list")'),
    "openstack vmha segment capacity": ("tests/integration/test_osc_capacity.py", '"segment", "capacity"'),
    "openstack vmha host failover-plan": ("tests/integration/test_osc_capacity.py", '"host", "failover-plan"'),
    "openstack vmha notification list": ("tests/integration/test_osc_plugin.py", '"notification", "list"'),
    "openstack vmha report": ("tests/integration/test_osc_capacity.py", 'osc.json("report"'),
    "openstack vmha host return": ("tests/integration/test_osc_return.py", '"host", "return"'),
    "openstack vmha host failback": ("tests/integration/test_osc_failback.py", '"host", "failback", host, "--wait"'),
    "vmha drill --host": ("tests/drill_support.py", '[VMHA, "drill", "--fencing-file"'),
    "vmha status": ("tests/integration/test_capacity.py", '["status", "--once"'),
}
"""The start of each command of the guide, the test file running it and how that test writes it."""


def guide_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_command_of_the_guide_is_run_by_a_test() -> None:
    commands = guide_commands()
    unmatched = [command for command in commands if not any(command.startswith(start) for start in RUN_BY)]
    assert unmatched == [], "commands of the guide no test runs (add the test, then map it in RUN_BY)"
    for start, (path, written) in RUN_BY.items():
        assert written in (ROOT / path).read_text(), f"{path} no longer runs `{start}` ({written})"


def test_every_mapped_command_is_still_in_the_guide() -> None:
    commands = guide_commands()
    unused = [start for start in RUN_BY if not any(command.startswith(start) for command in commands)]
    assert unused == []
