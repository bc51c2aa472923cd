"""The fencing configuration file: schema, secrets from file or environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmha.contracts import ContractError
from vmha.fencing import Protocol, parse_fencing_config
from vmha.templates import load_example


def test_example_parses_with_secrets_from_file_and_environment(tmp_path: Path) -> None:
    document = load_example("fencing")
    secret = tmp_path / "bmc-1"
    secret.write_text("s3cret\n")
    document["hosts"]["compute-1"]["password_file"] = str(secret)
    hosts = parse_fencing_config(document, {"BMC_COMPUTE_2": "from-env"})
    assert hosts["compute-1"].protocol is Protocol.REDFISH
    assert hosts["compute-1"].password == "s3cret"
    assert hosts["compute-1"].system_id == "System.Embedded.1"
    assert (hosts["compute-2"].protocol, hosts["compute-2"].port) == (Protocol.IPMI, 623)
    assert hosts["compute-2"].password == "from-env"
    assert "from-env" not in repr(hosts["compute-2"])


def test_missing_environment_variable_names_the_field() -> None:
    document = {"hosts": {"c1": {"protocol": "ipmi", "address": "h", "username": "u", "password_env": "NOPE"}}}
    with pytest.raises(ContractError) as raised:
        parse_fencing_config(document, {})
    assert raised.value.path == "hosts/c1/password_env"
    assert "NOPE" in str(raised.value)


def test_unreadable_password_file_names_the_host(tmp_path: Path) -> None:
    document = {"hosts": {"c1": {"protocol": "redfish", "address": "https://b", "username": "u",
                                 "password_file": str(tmp_path / "absent")}}}
    with pytest.raises(ContractError, match="c1"):
        parse_fencing_config(document, {})


@pytest.mark.parametrize("entry", [
    {"protocol": "snmp", "address": "h", "username": "u", "password": "p"},
    {"protocol": "ipmi", "address": "h", "username": "u"},
    {"protocol": "ipmi", "address": "h", "username": "u", "password": "p", "password_env": "X"},
    {"protocol": "ipmi", "address": "h", "username": "u", "password": "p", "port": 70000},
])
def test_schema_violations_are_rejected(entry: dict[str, object]) -> None:
    with pytest.raises(ContractError):
        parse_fencing_config({"hosts": {"c1": entry}}, {})
