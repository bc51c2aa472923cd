"""The monitors' clouds.yaml reader (os-client-config rules for the keys vmha uses), their session, and the
Nova opt-in of the introspective monitor when Nova cannot be asked (its normal path: tests/integration)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from keystoneauth1.identity import generic

from vmha.contracts import truthy
from vmha.monitors.cloud import CloudConfig, CloudConfigError, LazySession, build_session, load_cloud
from vmha.monitors.nova import NovaOptIn

AUTH = {"auth_url": "http://127.0.0.1:9/v3", "username": "monitor", "project_name": "service",
        "user_domain_name": "Default", "project_domain_name": "Default"}


def write(path: Path, clouds: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    return path


def test_the_named_file_with_secure_yaml_merged_over_it(tmp_path: Path) -> None:
    clouds = write(tmp_path / "clouds.yaml", {
        "site": {"auth": AUTH, "region_name": "RegionTwo", "interface": "internal", "cacert": "/etc/ca.pem"},
        "other": {"auth": AUTH, "insecure": True, "cacert": "/etc/ca.pem", "auth_type": "v3password"}})
    secure = write(tmp_path / "secure.yaml", {"site": {"auth": {"password": "s3cret"}}})
    environ = {"OS_CLIENT_CONFIG_FILE": str(clouds), "OS_CLIENT_SECURE_FILE": str(secure), "OS_CLOUD": "other"}
    assert load_cloud("site", environ) == CloudConfig(
        "site", "password", {**AUTH, "password": "s3cret"}, "RegionTwo", "internal", "/etc/ca.pem")
    other = load_cloud("", environ)  # OS_CLOUD
    assert (other.name, other.auth_type, other.verify, other.interface, other.region_name) == (
        "other", "v3password", False, "public", None)


def test_the_only_cloud_of_a_file_found_in_the_working_directory(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "clouds.yaml", {"alone": {"auth": AUTH, "verify": False}})
    monkeypatch.chdir(tmp_path)
    assert load_cloud("", {}).name == "alone"
    assert load_cloud("", {}).verify is False


@pytest.mark.parametrize(("clouds", "name", "message"), [
    ({"a": {"auth": AUTH}}, "b", "cloud 'b' is not in clouds.yaml (it has ['a'])"),
    ({"a": {"auth": AUTH}, "b": {"auth": AUTH}}, "", "no cloud named: set OS_CLOUD or the setting"),
    ({"a": {"auth_type": "token", "auth": AUTH}}, "a", "cloud 'a': auth_type 'token' is not one of password"),
    ({"a": {"region_name": "x"}}, "a", "cloud 'a' has no 'auth' mapping"),
])
def test_a_cloud_that_cannot_be_used_is_a_clear_error(tmp_path: Path, clouds: dict[str, Any], name: str,
                                                      message: str) -> None:
    environ = {"OS_CLIENT_CONFIG_FILE": str(write(tmp_path / "clouds.yaml", clouds))}
    with pytest.raises(CloudConfigError, match="^" + re.escape(message)):
        load_cloud(name, environ)


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CloudConfigError, match="No such file"):
        load_cloud("a", {"OS_CLIENT_CONFIG_FILE": str(tmp_path / "absent.yaml")})
    (tmp_path / "broken.yaml").write_text("clouds: [")
    with pytest.raises(CloudConfigError, match=r"broken\.yaml"):
        load_cloud("a", {"OS_CLIENT_CONFIG_FILE": str(tmp_path / "broken.yaml")})


def test_the_session_carries_the_auth_verify_and_timeout() -> None:
    cloud = CloudConfig("site", "password", {**AUTH, "password": "p"}, verify="/etc/ca.pem")
    lazy = LazySession(cloud, timeout=2.5)
    session = lazy()
    assert lazy() is session  # built once, then shared
    assert (session.verify, session.timeout) == ("/etc/ca.pem", 2.5)
    assert isinstance(session.auth, generic.Password) and session.auth.auth_url == AUTH["auth_url"]


def test_warming_a_session_while_keystone_is_unreachable_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = CloudConfig("site", "password", {**AUTH, "password": "p"})  # Keystone on a closed port
    LazySession(unreachable, timeout=2).warm()
    [record] = [record for record in caplog.records if record.name == "vmha.monitors.cloud"]
    assert record.levelname == "WARNING" and record.cloud == "site"  # type: ignore[attr-defined]
    assert "ConnectFailure" in record.error  # type: ignore[attr-defined]


def test_an_unknown_auth_key_is_a_clear_error() -> None:
    with pytest.raises(CloudConfigError, match=r"cloud 'site': auth: .*colour"):
        build_session(CloudConfig("site", "v3password", {**AUTH, "colour": "blue"}))


def test_nova_opt_in_watches_every_guest_when_nova_cannot_be_asked() -> None:
    unreachable = CloudConfig("site", "password", {**AUTH, "password": "p"})  # Keystone on a closed port
    select = NovaOptIn(LazySession(unreachable, timeout=2), "compute1", "HA_Enabled").select
    assert select({"a", "b"}) == {"a", "b"}


def test_metadata_values_read_as_masakari_reads_them() -> None:
    assert [truthy(value) for value in ("True", "yes", " 1 ", "on", "t", "Y")] == [True] * 6
    assert [truthy(value) for value in ("False", "no", "0", "", "enabled")] == [False] * 5
