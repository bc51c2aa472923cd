"""The API's policy: Masakari's rule names and admin-only defaults, vmha's own rules, a policy.yaml of the
operator's overriding them (read again when it changes), the generated sample kept current; the service
config file's keystonemiddleware options and their secrets masked; the journal's audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from vmha.api import keystone_filter
from vmha.api.auth import masked_config
from vmha.api.policy import ANONYMOUS, Caller, Policy, service_config
from vmha.contracts import ContractError
from vmha.contracts.secrets import MASK
from vmha.journal import Journal, create_journal_engine
from vmha.journal.audit import AuditDecision, AuditEntry
from vmha.journal.upkeep import purge
from vmha.policies import list_rules, rule_for

from .journal_support import FakeClock

ROOT = Path(__file__).parents[2]
ADMIN = Caller("user:a", "a", "p-admin", ("admin", "member"))
MEMBER = Caller("user:m", "m", "p-demo", ("member", "reader"))
MASAKARI_RULES = {
    *(f"os_masakari_api:{kind}:{op}" for kind in ("segments", "os-hosts")
      for op in ("index", "detail", "create", "update", "delete")),
    *(f"os_masakari_api:notifications:{op}" for op in ("index", "detail", "create")),
    "os_masakari_api:vmoves:index", "os_masakari_api:vmoves:detail",
}
STEP_RULES = ("vmha:functions:invoke", "vmha:executions:create")


def defaults() -> Policy:
    return Policy(service_config(""))


def test_masakaris_rules_keep_its_names_and_admin_only_defaults() -> None:
    rules = {rule.name: rule.check_str for rule in list_rules()}
    assert set(rules) >= MASAKARI_RULES
    assert {rules[name] for name in MASAKARI_RULES} == {"rule:admin_api"}
    assert (rules["admin_api"], rules["context_is_admin"]) == ("is_admin:True", "role:admin")


@pytest.mark.parametrize("rule", sorted(MASAKARI_RULES) + list(STEP_RULES))
def test_an_admin_may_and_a_member_may_not(rule: str) -> None:
    policy = defaults()
    assert policy.allows(rule, ADMIN, {"project_id": ADMIN.project_id})
    assert not policy.allows(rule, MEMBER, {"project_id": MEMBER.project_id})
    assert not policy.allows(rule, ANONYMOUS, {})


def test_the_anonymous_routes_are_open_and_a_refusal_names_its_rule() -> None:
    policy = defaults()
    assert all(policy.allows(rule, ANONYMOUS, {}) for rule in ("vmha:metrics", "vmha:wakeup", "vmha:healthz"))
    with pytest.raises(Exception, match="vmha:functions:invoke") as raised:
        policy.authorize("vmha:functions:invoke", MEMBER, {})
    assert getattr(raised.value, "status", None) == 403


def test_each_rule_guards_the_route_it_documents() -> None:
    assert rule_for("POST", "/2015-03-31/functions/{name}/invocations") == "vmha:functions:invoke"
    assert rule_for("DELETE", "/v1/segments/{segment_id}/hosts/{host_id}") == "os_masakari_api:os-hosts:delete"
    assert rule_for("GET", "") == rule_for("GET", "/v1") == "os_masakari_api:versions:index"
    with pytest.raises(KeyError, match="PATCH /v1/segments"):
        rule_for("PATCH", "/v1/segments")


def test_an_operators_policy_file_overrides_a_default_and_is_read_again_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "vmha.conf").write_text("[oslo_policy]\npolicy_file = policy.yaml\n")
    overrides = tmp_path / "policy.yaml"
    overrides.write_text('"os_masakari_api:segments:index": "role:reader"\n')
    policy = Policy(service_config(str(tmp_path / "vmha.conf")))
    assert policy.allows("os_masakari_api:segments:index", MEMBER, {})
    assert not policy.allows("os_masakari_api:segments:create", MEMBER, {})  # the other defaults stand
    overrides.write_text('"os_masakari_api:segments:index": "!"\n')
    os.utime(overrides, (overrides.stat().st_mtime + 5,) * 2)
    assert not policy.allows("os_masakari_api:segments:index", ADMIN, {})


def test_a_config_file_that_is_not_there_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="api/config_file"):
        service_config(str(tmp_path / "missing.conf"))


def test_the_shipped_policy_sample_is_what_the_generator_writes_now(tmp_path: Path) -> None:
    generated = tmp_path / "policy.yaml.sample"
    generator = Path(sys.executable).parent / "oslopolicy-sample-generator"
    subprocess.run([str(generator), "--namespace", "vmha", "--output-file", str(generated)], check=True,
                   capture_output=True, timeout=60)
    assert (ROOT / "etc/vmha/policy.yaml.sample").read_text() == generated.read_text(), \
        "regenerate it: oslopolicy-sample-generator --namespace vmha --output-file etc/vmha/policy.yaml.sample"


def test_settings_check_shows_the_config_file_with_its_secrets_masked(tmp_path: Path) -> None:
    conf = tmp_path / "vmha.conf"
    sample = (ROOT / "etc/vmha/vmha.conf.sample").read_text()
    conf.write_text(sample.replace("[oslo_policy]", "password = plugin-pass\n\n[oslo_policy]"))
    shown = masked_config(str(conf))
    section = shown["keystone_authtoken"]
    assert (section["memcache_secret_key"], section["password"]) == (MASK, MASK)
    assert section["cafile"] == "/etc/vmha/tls/ca.pem" and section["memcached_servers"].startswith("192.0.2.21")
    assert shown["oslo_policy"] == {"policy_file": "policy.yaml"}


def test_keystonemiddleware_takes_its_options_from_the_section_and_the_rest_from_the_cloud(tmp_path: Path) -> None:
    import openstack  # noqa: PLC0415  (only this test needs a connection object)

    cloud = openstack.connect(auth_type="password", auth_url="http://127.0.0.1:9/v3", username="u", password="p",
                              project_name="p", user_domain_name="Default", project_domain_name="Default",
                              region_name="RegionOne", load_yaml_config=False, load_envvars=False)
    conf = tmp_path / "vmha.conf"
    conf.write_text("[keystone_authtoken]\ncafile = /etc/vmha/ca.pem\nregion_name = RegionTwo\n"
                    "memcached_servers = 192.0.2.1:11211\ndelay_auth_decision = true\n")
    middleware = keystone_filter(cloud, str(conf))(lambda environ, start_response: [b""])
    options = middleware._conf  # type: ignore[attr-defined]
    assert (options.get("cafile"), options.get("region_name")) == ("/etc/vmha/ca.pem", "RegionTwo")
    assert options.get("memcached_servers") == ["192.0.2.1:11211"]
    assert options.get("delay_auth_decision") is False  # a missing token is always the middleware's 401
    assert options.get("www_authenticate_uri") == "http://127.0.0.1:9/v3"  # left out: the cloud's


def test_the_audit_trail_is_listed_newest_first_and_purged_with_the_rest(
        journal: Journal, clock: FakeClock, db_url: str) -> None:
    def entry(decision: AuditDecision, target: str) -> AuditEntry:
        return AuditEntry(request_id="req-1", rule="vmha:functions:invoke", method="POST",
                          path="/2015-03-31/functions/fence_host/invocations", target=target, identity="user:m",
                          user_id="m", project_id="p" * 80, decision=decision, status=403, reason="no")
    old = journal.audit(entry(AuditDecision.DENIED, "name=fence_host"))
    clock.advance(timedelta(days=40))
    new = journal.audit(entry(AuditDecision.ALLOWED, "name=ok"))
    assert [row.id for row in journal.list_audit()] == [new.id, old.id]
    assert [row.entry.target for row in journal.list_audit(decision=AuditDecision.DENIED)] == ["name=fence_host"]
    assert [row.id for row in journal.list_audit(since=clock.now)] == [new.id]
    assert old.entry.project_id == "p" * 64 and old.at < new.at
    engine = create_journal_engine(db_url)
    try:
        assert purge(engine, clock.now - timedelta(days=30)).audit == 1
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM audit")).scalar_one() == 1
    finally:
        engine.dispose()


def test_oslo_policys_tools_check_an_operators_policy_file_against_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text('"os_masakari_api:segments:index": "rule:admin_api"\n'
                                          '"vmha:functions:invoke": "role:member"\n"vmha:no_such_rule": "@"\n')
    conf = tmp_path / "vmha.conf"
    conf.write_text(f"[oslo_policy]\npolicy_file = {tmp_path / 'policy.yaml'}\n")
    tools = Path(sys.executable).parent

    def run(tool: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(tools / tool), "--namespace", "vmha", "--config-file", str(conf)],
                              check=False, capture_output=True, text=True, timeout=60)
    redundant = run("oslopolicy-list-redundant")
    assert redundant.stdout.strip() == '"os_masakari_api:segments:index": "rule:admin_api"'
    validated = run("oslopolicy-validator")
    assert validated.returncode == 1 and "Unknown rule found in policy file: vmha:no_such_rule" in validated.stdout
