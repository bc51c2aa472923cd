"""Settings: schema defaults, then the file, then VMHA_* variables; every field documented."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from vmha.contracts import ContractError, Settings, environment_variables, load_settings, parse_settings
from vmha.templates import load_example, load_schema


def leaf_schemas(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    leaves: dict[str, dict[str, Any]] = {}
    for key, schema in properties.items():
        if "properties" in schema:
            leaves |= leaf_schemas(schema["properties"], f"{prefix}{key}/")
        else:
            leaves[prefix + key] = schema
    return leaves


def dataclass_leaves(cls: type, prefix: str = "") -> set[str]:
    leaves: set[str] = set()
    for field in dataclasses.fields(cls):
        if isinstance(field.type, type) and dataclasses.is_dataclass(field.type):
            leaves |= dataclass_leaves(field.type, f"{prefix}{field.name}/")
        else:
            leaves.add(prefix + field.name)
    return leaves


SCHEMA = load_schema("settings")


def test_every_field_has_a_description_and_a_default() -> None:
    sections = [schema for schema in SCHEMA["properties"].values() if "properties" in schema]
    assert sections
    for schema in [*sections, *leaf_schemas(SCHEMA["properties"]).values()]:
        assert schema.get("description")
        assert "default" in schema


def test_dataclasses_mirror_the_schema() -> None:
    assert dataclass_leaves(Settings) == set(leaf_schemas(SCHEMA["properties"]))


def test_defaults_come_from_the_schema() -> None:
    settings = load_settings(environ={})
    leaves = leaf_schemas(SCHEMA["properties"])
    assert settings.retry.max_attempts == leaves["retry/max_attempts"]["default"]
    assert settings.host_failure.mass_failure_share == 0.5
    assert settings.host_failure.evacuate_all_instances is True
    assert settings.instance_failure.process_all_instances is False
    assert settings.ha_enabled_metadata_key == "HA_Enabled"
    assert settings.exclusions.tags == ()


def test_example_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(load_example("settings")))
    settings = load_settings(path, environ={})
    assert settings.coordination_url == "etcd3+http://etcd.example.org:2379"
    assert settings.host_failure.max_parallel_evacuations == 5
    assert settings.exclusions.tags == ("amphora",)
    assert isinstance(settings.retry.multiplier, float)


def test_yaml_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("retry:\n  max_attempts: 7\nexclusions:\n  images: [img-1]\n")
    settings = load_settings(path, environ={})
    assert settings.retry.max_attempts == 7
    assert settings.retry.max_delay_seconds == 300
    assert settings.exclusions.images == ("img-1",)


def test_environment_twins_win_over_the_file() -> None:
    document = {"retry": {"max_attempts": 7}, "host_failure": {"evacuate_all_instances": True}}
    environ = {
        "VMHA_RETRY_MAX_ATTEMPTS": "9",
        "VMHA_HOST_FAILURE_EVACUATE_ALL_INSTANCES": "no",
        "VMHA_HOST_FAILURE_MASS_FAILURE_SHARE": "0.25",
        "VMHA_EXCLUSIONS_TAGS": "amphora, lb ,",
        "VMHA_JOURNAL_URL": "postgresql://db/vmha",
        "VMHA_UNRELATED": "ignored",
    }
    settings = parse_settings(document, environ)
    assert settings.retry.max_attempts == 9
    assert settings.host_failure.evacuate_all_instances is False
    assert settings.host_failure.mass_failure_share == 0.25
    assert settings.exclusions.tags == ("amphora", "lb")
    assert settings.journal_url == "postgresql://db/vmha"


def test_every_field_has_one_environment_twin() -> None:
    names = environment_variables()
    assert len(names) == len(leaf_schemas(SCHEMA["properties"]))
    assert names["VMHA_RETRY_MAX_ATTEMPTS"] == ("retry", "max_attempts")
    assert names["VMHA_QUEUES_DEAD_LETTERS"] == ("queues", "dead_letters")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("VMHA_RETRY_MAX_ATTEMPTS", "many", "cannot read 'many' as int"),
        ("VMHA_RETRY_MAX_ATTEMPTS", "0", "(sets retry/max_attempts)"),
        ("VMHA_HOST_FAILURE_EVACUATE_ALL_INSTANCES", "maybe", "as bool"),
        ("VMHA_RETRY_MAX_DELAY_SECONDS", "3600", "more than 900"),
        ("VMHA_QUEUES_STEPS", "bad queue", "not a valid Zaqar queue name"),
    ],
)
def test_bad_environment_value_names_the_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_settings({}, {name: value})
    assert caught.value.path == name
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"retry": {"max_attempts": "5"}}, "retry/max_attempts"),
        ({"retry": {"max_attempts": 5, "jitter": True}}, "retry/jitter"),
        ({"host_failure": {"mass_failure_share": 0}}, "host_failure/mass_failure_share"),
        ({"journal": "sqlite://"}, "journal"),
        ({"exclusions": {"tags": ["a", "a"]}}, "exclusions/tags"),
        ([], ""),
    ],
)
def test_bad_file_content_names_the_field(document: Any, path: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_settings(document, {})
    assert caught.value.path == path


def test_malformed_file_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("retry: [unclosed\n")
    with pytest.raises(ContractError, match="cannot parse"):
        load_settings(path, environ={})


def test_gateway_options_have_defaults_and_environment_twins() -> None:
    settings = load_settings(environ={"VMHA_GATEWAY_WORKERS": "7", "VMHA_GATEWAY_POLL_INTERVAL_SECONDS": "0.5"})
    assert settings.gateway.workers == 7
    assert settings.gateway.poll_interval_seconds == 0.5
    assert settings.gateway.claim_ttl_seconds >= 60
    with pytest.raises(ContractError) as caught:
        load_settings(environ={"VMHA_GATEWAY_CLAIM_TTL_SECONDS": "30"})
    assert caught.value.path == "VMHA_GATEWAY_CLAIM_TTL_SECONDS"
