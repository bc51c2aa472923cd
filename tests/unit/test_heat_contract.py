"""The registry is the source of truth for the wiring: heat/ must route every function, and the segment
template must write exactly the metadata keys the functions read (offline checks; tests/integration/
test_heat_stack.py validates every template on the real Heat)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from vmha import escalation as escalation_event
from vmha.cloud.segments import PREFIX, FailbackMode, Fencing, ReturnMode, parse_segment
from vmha.contracts import RecoveryMethod
from vmha.deploy import SIGNED_PARAMETERS
from vmha.functions import STEPS
from vmha.heat import environment_path, template_names, template_path


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(template_path(name).read_text())
    return document


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["resources"].items() if body["type"] == kind}


@pytest.mark.parametrize("name", template_names())
def test_every_template_documents_itself_and_every_parameter_and_output(name: str) -> None:
    template = _load(name)
    assert str(template["heat_template_version"]) == "2021-04-16"
    assert template["description"].strip()
    undocumented = [key for key, spec in {**template.get("parameters", {}), **template.get("outputs", {})}.items()
                    if not str(spec.get("description", "")).strip()]
    assert undocumented == [], f"{name}: parameters/outputs without a description"


def test_every_function_of_the_registry_is_routed_to_a_queue_that_wakes_the_gateway() -> None:
    wiring = _load("wiring.yaml")
    routes = wiring["resources"]["routes"]["properties"]["value"]
    assert set(routes) == {"intake", *STEPS}
    queues = _of_type(wiring, "OS::Zaqar::Queue")
    pushes = _of_type(wiring, "OS::Zaqar::Subscription").values()
    pushed = {push["properties"]["queue_name"]["get_resource"] for push in pushes}
    assert set(routes.values()) <= set(queues)
    assert set(routes.values()) <= pushed, "a queue that carries functions has no subscription to wake the gateway"
    assert "dead_letters" in queues
    for push in pushes:
        assert push["properties"]["options"], "Zaqar never delivers to a subscription with null options"


def test_the_pushes_trusts_never_share_an_expiry() -> None:
    # Keystone refuses a second trust of one trustor, trustee and project expiring in the same second, and
    # Zaqar's trust for a push expires at its creation + ttl: each push waits for the one before and lives
    # longer, so two pushes of a stack can never ask for the same expiry.
    pushes = _of_type(_load("wiring.yaml"), "OS::Zaqar::Subscription")
    first = [name for name, push in pushes.items() if "depends_on" not in push]
    assert len(first) == 1, "the pushes must be made one after another"
    order = first
    while followers := [name for name, push in pushes.items() if push.get("depends_on") == order[-1]]:
        assert len(followers) == 1, f"{followers} would be made at once"
        order += followers
    assert len(order) == len(pushes), "every push waits for the one before it"
    ttls = [pushes[name]["properties"]["ttl"] for name in order]
    assert ttls == sorted(set(ttls)), f"each push must live longer than the one before it: {ttls}"


def test_the_segment_template_writes_the_keys_the_functions_read_with_their_allowed_values() -> None:
    segment = _load("segment.yaml")
    parameters = segment["parameters"]
    assert parameters["recovery_method"]["constraints"][0]["allowed_values"] == [m.value for m in RecoveryMethod]
    assert parameters["fencing"]["constraints"][0]["allowed_values"] == [f.value for f in Fencing]
    assert parameters["return_to_service"]["constraints"][0]["allowed_values"] == [m.value for m in ReturnMode]
    assert parameters["failback"]["constraints"][0]["allowed_values"] == [m.value for m in FailbackMode]
    metadata = segment["resources"]["aggregate"]["properties"]["metadata"]
    assert all(key.startswith(PREFIX) for key in metadata)
    # Every key the template writes changes what the functions read (none is ignored or misspelt).
    defaults = parse_segment("s", ("h1",), {PREFIX + "enabled": "true"})
    changed = {PREFIX + "enabled": "false", PREFIX + "recovery_method": "rh_priority",
               PREFIX + "reserved_hosts": "h2", PREFIX + "maintenance_hosts": "h1", PREFIX + "fencing": "disabled",
               PREFIX + "rto_seconds": "300", PREFIX + "stack": "vmha-prod", PREFIX + "return_to_service": "auto",
               PREFIX + "flap_window_seconds": "60", PREFIX + "failback": "auto",
               PREFIX + "evacuate_all_instances": "false",
               PREFIX + "mass_failure_share": "0.8", PREFIX + "excluded_tags": "t", PREFIX + "excluded_projects": "p",
               PREFIX + "excluded_images": "i"}
    assert set(metadata) == set(changed)
    for key, value in changed.items():
        assert parse_segment("s", ("h1",), {key: value}) != defaults, key


def test_a_segment_fences_unless_it_opts_out_explicitly() -> None:
    segment = _load("segment.yaml")
    assert segment["parameters"]["fencing"]["default"] == Fencing.REQUIRED.value
    assert parse_segment("s", ("h1",), {PREFIX + "enabled": "true"}).fencing is Fencing.REQUIRED
    assert parse_segment("s", ("h1",), {PREFIX + "fencing": "disabled"}).fencing is Fencing.DISABLED


def test_instance_alarms_call_the_gateway_on_every_failure() -> None:
    alarms = _of_type(_load("alarms.yaml"), "OS::Aodh::EventAlarm")
    escalation = alarms.pop("recovery_failed")
    assert alarms
    for name, alarm in alarms.items():
        properties = alarm["properties"]
        assert properties["alarm_actions"] == [{"get_param": "alarm_url"}], name
        assert properties["repeat_actions"] is True, f"{name} would fire only once"
        assert properties["event_type"].startswith("compute.instance."), name
    # The escalation alarm listens to the event vmha publishes and calls the operators, not the gateway.
    properties = escalation["properties"]
    assert (properties["event_type"], properties["alarm_actions"], properties["repeat_actions"]) == (
        escalation_event.EVENT_TYPE, [{"get_param": "escalation_url"}], True)


def test_the_top_level_template_composes_the_units_and_the_local_environment_fills_its_parameters() -> None:
    top = _load("vmha.yaml")
    types = {body["type"] for body in top["resources"].values()}
    assert {"wiring.yaml", "alarms.yaml", "OS::Heat::ResourceGroup"} <= types
    group = _of_type(top, "OS::Heat::ResourceGroup")["segment_group"]["properties"]["resource_def"]
    assert group["type"] == "segment_entry.yaml"
    assert _load("segment_entry.yaml")["resources"]["segment"]["type"] == "segment.yaml"
    assert {"queues", "webhook_urls", "segment_ids", "function_urls"} <= set(top["outputs"])
    environment = yaml.safe_load(environment_path("local-cloud").read_text())
    required = {name for name, spec in top["parameters"].items() if "default" not in spec}
    assert required - set(SIGNED_PARAMETERS) <= set(environment["parameter_defaults"])
