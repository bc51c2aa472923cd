"""`vmha settings check` never prints a secret: URL passwords and the schema's write-only fields are masked;
`--role monitor` refuses a compute host's file that holds a gateway secret. The http section's settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from vmha import cli
from vmha.contracts import ContractError, load_settings, parse_settings
from vmha.contracts.secrets import MASK, gateway_secrets, masked_settings, masked_url

GATEWAY = {
    "journal_url": "mysql+pymysql://vmha:db-pass@db.example.org/vmha?charset=utf8mb4",
    "coordination_url": "redis://:redis-pass@redis.example.org:6379?timeout=5",
    "api": {"webhook_secret": "signing-key"},
    "escalation": {"transport_url": "rabbit://openstack:rabbit-pass@192.0.2.10:5672/"},
}
SECRETS = ("db-pass", "redis-pass", "signing-key", "rabbit-pass")


@pytest.mark.parametrize(("text", "shown"), [
    ("mysql+pymysql://vmha:p@ss:w0rd@db/vmha", f"mysql+pymysql://vmha:{MASK}@db/vmha"),
    ("postgresql+psycopg://vmha@db/vmha", "postgresql+psycopg://vmha@db/vmha"),
    ("redis://:secret@127.0.0.1:6379", f"redis://:{MASK}@127.0.0.1:6379"),
    ("redis://127.0.0.1:6379?password=secret&timeout=5", f"redis://127.0.0.1:6379?password={MASK}&timeout=5"),
    ("etcd3+http://127.0.0.1:2379?api_key=k", f"etcd3+http://127.0.0.1:2379?api_key={MASK}"),
    ("sqlite:///var/lib/vmha/journal.db", "sqlite:///var/lib/vmha/journal.db"),
    ("not a url: user:pass@host", "not a url: user:pass@host"),
])
def test_a_url_keeps_all_but_its_password(text: str, shown: str) -> None:
    assert masked_url(text) == shown


def test_every_secret_of_the_settings_is_masked_and_the_rest_shown() -> None:
    shown = masked_settings(parse_settings(GATEWAY, {}))
    text = json.dumps(shown)
    assert not [secret for secret in SECRETS if secret in text]
    assert shown["journal_url"] == f"mysql+pymysql://vmha:{MASK}@db.example.org/vmha?charset=utf8mb4"
    assert shown["api"]["webhook_secret"] == MASK
    assert shown["api"]["config_file"] == "" and shown["gateway"]["listen_port"] == 15868
    assert masked_settings(parse_settings({}, {}))["api"]["webhook_secret"] == ""  # unset stays visibly unset


def test_settings_check_prints_the_effective_settings_without_secrets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(GATEWAY))
    monkeypatch.setenv("VMHA_API_WEBHOOK_SECRET", "signing-key-from-env")
    assert cli.main(["settings", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert not [secret for secret in SECRETS if secret in out]
    assert json.loads(out)["escalation"]["transport_url"] == f"rabbit://openstack:{MASK}@192.0.2.10:5672/"


def test_a_compute_hosts_settings_file_may_hold_its_own_secrets_but_no_gateway_secret(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monitor = tmp_path / "monitor.yaml"
    monitor.write_text(yaml.safe_dump({"coordination_url": "redis://:redis-pass@redis:6379",
                                       "monitor": {"hostname": "compute-1"}}))
    assert cli.main(["settings", "check", "--role", "monitor", str(monitor)]) == 0
    assert gateway_secrets(load_settings(monitor, {})) == []
    both = tmp_path / "settings.yaml"
    both.write_text(yaml.safe_dump({**GATEWAY, "monitor": {"hostname": "compute-1"}}))
    assert cli.main(["settings", "check", "--role", "monitor", str(both)]) == 2
    err = capsys.readouterr().err
    assert "journal_url, api.webhook_secret, escalation.transport_url" in err
    assert not [secret for secret in SECRETS if secret in err]
    assert cli.main(["settings", "check", str(both)]) == 0  # the gateway's own file


def test_the_http_server_settings_and_their_bounds() -> None:
    http = load_settings(environ={"VMHA_HTTP_THREADS": "8", "VMHA_HTTP_TLS_CERT_FILE": "/etc/vmha/tls/gw.crt",
                                  "VMHA_HTTP_PROXY_HEADERS": "yes"}).http
    assert (http.threads, http.tls_cert_file, http.proxy_headers) == (8, "/etc/vmha/tls/gw.crt", True)
    assert (http.request_timeout_seconds, http.idle_timeout_seconds, http.max_idle_connections) == (30.0, 120, 2000)
    for bad in ({"threads": 0}, {"request_timeout_seconds": 0}, {"idle_timeout_seconds": 0.5}):
        with pytest.raises(ContractError, match="http"):
            parse_settings({"http": bad}, {})
