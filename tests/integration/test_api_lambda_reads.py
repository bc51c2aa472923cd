"""AWS Lambda's ListFunctions, GetFunction and GetFunctionConfiguration on the gateway, through a real boto3
lambda client (SigV4-signed like Invoke) over the test step table: AWS's shapes, paging, errors."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from .api_support import Running


def aws_error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


def test_every_function_is_listed_in_lambdas_shape(api: Running) -> None:
    services = api.gateway.services
    listed = api.lambda_client().list_functions()
    assert "NextMarker" not in listed
    functions = {item["FunctionName"]: item for item in listed["Functions"]}
    assert next(iter(functions)) == "intake" and set(functions) == {"intake", *services.table}
    region, project = services.cloud.config.get_region_name(), services.cloud.current_project_id
    ok = functions["ok"]
    assert ok["FunctionArn"] == f"arn:aws:lambda:{region}:{project}:function:ok"
    assert ok["Timeout"] == round(services.table["ok"].timeout_seconds)
    assert (ok["Version"], ok["State"], ok["Runtime"][:6]) == ("$LATEST", "Active", "python")
    assert functions["intake"]["Description"] == "vmha the intake (takes a notification)"


def test_pages_follow_marker_and_max_items(api: Running) -> None:
    client = api.lambda_client()
    every = [item["FunctionName"] for item in client.list_functions()["Functions"]]
    first = client.list_functions(MaxItems=2)
    assert [item["FunctionName"] for item in first["Functions"]] == every[:2] and first["NextMarker"] == every[1]
    second = client.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [item["FunctionName"] for item in second["Functions"]] == every[2:4]
    pages = list(client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 3}))
    assert [item["FunctionName"] for page in pages for item in page["Functions"]] == every
    assert len(pages) == -(-len(every) // 3)
    assert aws_error(client.list_functions, Marker="no-such-function") == "InvalidParameterValueException"


def test_a_function_and_its_configuration_by_name_or_arn(api: Running) -> None:
    client = api.lambda_client()
    configuration = client.get_function_configuration(FunctionName="ok")
    got = client.get_function(FunctionName=configuration["FunctionArn"])
    assert {key: got["Configuration"][key] for key in ("FunctionName", "FunctionArn", "Timeout")} == {
        key: configuration[key] for key in ("FunctionName", "FunctionArn", "Timeout")}
    assert client.get_function(FunctionName="ok", Qualifier="$LATEST")["Configuration"]["FunctionName"] == "ok"
    assert "per server" in client.get_function_configuration(FunctionName="each")["Description"]


@pytest.mark.parametrize(("name", "qualifier"), [("nope", None), ("ok", "1"), ("ok:2", None)])
def test_unknown_functions_and_versions_are_not_found(api: Running, name: str, qualifier: str | None) -> None:
    client, extra = api.lambda_client(), {"Qualifier": qualifier} if qualifier else {}
    assert aws_error(client.get_function, FunctionName=name, **extra) == "ResourceNotFoundException"
    assert aws_error(client.get_function_configuration, FunctionName=name, **extra) == "ResourceNotFoundException"


def test_reads_must_be_signed(api: Running) -> None:
    for path in ("/2015-03-31/functions/", "/2015-03-31/functions/ok", "/2015-03-31/functions/ok/configuration"):
        unsigned = api.call("GET", path, token=None)
        assert unsigned.status_code == 403
        assert unsigned.headers["X-Amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert aws_error(api.lambda_client(secret="not-the-secret").list_functions) == "InvalidSignatureException"
