"""The functions APIs of the gateway: Qinling-style executions and AWS Lambda Invoke (a real boto3 client),
over the test step table; Keystone tokens and SigV4 keys refused when missing or wrong, nothing recorded."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest

from tests.cloud import catalog
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.contracts import StepMessage

from .api_support import Running
from .runtime_support import wait_ended


def step_message(api: Running, step: str) -> dict[str, Any]:
    """A step message for a notification the journal knows (an ignored test notification)."""
    place_queue = api.gateway.services.settings.queues.notifications
    nid = uuid.uuid4()
    notification = {"id": str(nid), "source": "test", "type": "PROCESS", "hostname": "h1",
                    "generated_time": datetime.now(UTC).isoformat(),
                    "payload": {"event": "STOPPED", "process_name": "ignore:test"}}
    api.gateway.services.queues.post(place_queue, [notification], ttl=600)
    wait_ended(api.gateway.services.journal, str(nid), timeout=60)
    return StepMessage(nid, step, 1, (step,), 0, datetime.now(UTC) + timedelta(hours=1)).to_dict()


def test_every_function_is_listed_with_its_input_schema(api: Running) -> None:
    listed = api.call("GET", "/v1/functions").json()["functions"]
    names = [function["name"] for function in listed]
    assert names[0] == "intake" and set(names[1:]) == set(api.gateway.services.table)
    assert listed[0]["input_schema"]["title"] == "vmha notification"
    assert {function["input_schema"]["$id"].rsplit("/", 1)[1] for function in listed[1:]} == {"step.schema.json"}


def test_a_synchronous_execution_answers_its_output_and_is_recorded(api: Running) -> None:
    created = api.call("POST", "/v1/functions/ok/executions", json={"input": step_message(api, "ok")})
    assert created.status_code == 201
    execution = created.json()
    assert execution["status"] == "success" and execution["result"]["output"]["outcome"] == "done"
    shown = api.call("GET", f"/v1/functions/ok/executions/{execution['id']}").json()
    assert shown["result"] == execution["result"] and shown["sync"] is True
    assert api.call("GET", f"/v1/functions/ok2/executions/{execution['id']}").status_code == 404


def test_an_asynchronous_execution_answers_at_once_and_ends_later(api: Running) -> None:
    given = json.dumps(step_message(api, "slow"))  # Qinling's input is a JSON text
    created = api.call("POST", "/v1/functions/slow/executions", json={"input": given, "sync": False})
    assert created.status_code == 202 and created.json()["status"] == "running"
    path = f"/v1/functions/slow/executions/{created.json()['id']}"
    assert wait_until(lambda: api.call("GET", path).json()["status"] == "success", 30, 0.2)


def test_a_raising_function_is_a_failed_execution(api: Running) -> None:
    execution = api.call("POST", "/v1/functions/boom/executions", json={"input": step_message(api, "boom")}).json()
    assert execution["status"] == "failed"
    assert execution["result"]["output"]["errorType"] == "RuntimeError"
    assert execution["result"]["output"]["errorMessage"] == "the test step exploded"


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    ("/v1/functions/ok/executions", {"input": {"step": "ok"}}, 400, "invalid input for ok"),
    ("/v1/functions/ok/executions", {"input": "{not json"}, 400, "input is not JSON"),
    ("/v1/functions/ok/executions", {"input": {}, "sync": "yes"}, 400, "sync must be true or false"),
    ("/v1/functions/ok/executions", {"input": {}, "colour": 1}, 400, "unknown field 'colour'"),
    ("/v1/functions/nope/executions", {"input": {}}, 404, "function nope not found"),
])
def test_bad_executions_are_refused_and_nothing_is_recorded(
    api: Running, path: str, body: dict[str, Any], status: int, words: str
) -> None:
    answer = api.call("POST", path, json=body)
    assert answer.status_code == status and words in answer.json()["error"]["message"]
    assert api.count("executions") == 0


def test_malformed_and_oversized_bodies_are_refused(api: Running) -> None:
    malformed = api.call("POST", "/v1/functions/ok/executions", data=b"{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and "malformed request body" in malformed.json()["error"]["message"]
    huge = api.call("POST", "/v1/functions/ok/executions", json={"input": {"x": "y" * 70000}})
    assert huge.status_code == 413 and "larger than 65536 bytes" in huge.json()["error"]["message"]
    assert api.count("executions") == 0


def test_keystone_tokens_are_required_and_checked(api: Running, cloud_layout: Layout) -> None:
    body: dict[str, Any] = {"input": {}}
    assert api.call("POST", "/v1/functions/ok/executions", token=None, json=body).status_code == 401
    assert api.call("POST", "/v1/functions/ok/executions", token="bogus", json=body).status_code == 401
    demo = catalog.connect(cloud_layout, "vmha-demo")
    try:
        refused = api.call("GET", "/v1/functions", token=demo.session.get_token())
    finally:
        demo.close()
    assert refused.status_code == 403 and "vmha:functions:index" in refused.json()["error"]["message"]
    assert api.count("executions") == 0


def test_boto3_invokes_synchronously_and_asynchronously(api: Running) -> None:
    client = api.lambda_client()
    message = step_message(api, "ok")
    answer = client.invoke(FunctionName="ok", Payload=json.dumps(message).encode())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["outcome"] == "done"
    queued = client.invoke(FunctionName="ok", InvocationType="Event", Payload=json.dumps(message).encode())
    assert queued["StatusCode"] == 202
    execution = queued["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    path = f"/v1/functions/ok/executions/{execution}"
    assert wait_until(lambda: api.call("GET", path).json()["status"] == "success", 30, 0.2)
    assert client.invoke(FunctionName="ok", InvocationType="DryRun", Payload=json.dumps(message))["StatusCode"] == 204


def test_boto3_sees_a_function_error_as_lambda_reports_it(api: Running) -> None:
    answer = api.lambda_client().invoke(FunctionName="boom", Payload=json.dumps(step_message(api, "boom")).encode())
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "the test step exploded"
    assert error["requestId"] and error["stackTrace"]


@pytest.mark.parametrize(("name", "payload", "code"), [
    ("nope", b"{}", "ResourceNotFoundException"),
    ("ok", b"[1, 2", "InvalidRequestContentException"),
    ("ok", b'{"step": "ok"}', "InvalidRequestContentException"),
    ("ok", json.dumps({"x": "y" * 70000}).encode(), "RequestTooLargeException"),
])
def test_boto3_gets_lambda_errors_for_bad_calls(api: Running, name: str, payload: bytes, code: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        api.lambda_client().invoke(FunctionName=name, Payload=payload)
    assert raised.value.response["Error"]["Code"] == code
    assert api.count("executions") == 0


def test_unsigned_or_wrongly_signed_invocations_are_refused(api: Running) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        api.lambda_client(secret="not-the-secret").invoke(FunctionName="ok", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
    unsigned = api.call("POST", "/2015-03-31/functions/ok/invocations", token=None, data=b"{}")
    assert unsigned.status_code == 403
    assert unsigned.headers["X-Amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert api.count("executions") == 0
