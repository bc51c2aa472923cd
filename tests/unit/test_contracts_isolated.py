"""`check_isolated`: the schema check of a child process raises exactly what the check in this process would."""

from __future__ import annotations

import datetime
import sys
from typing import Any

import pytest

from vmha.contracts import ContractError
from vmha.contracts.isolated import check_isolated
from vmha.contracts.validation import check


def violation(checker: Any, document: Any) -> tuple[str, str]:
    with pytest.raises(ContractError) as raised:
        checker("settings", document)
    return raised.value.message, raised.value.path


@pytest.mark.parametrize("document", [
    {"monitor": {"hostname": 7}},
    {"monitor": {"introspective": {"misses": 0}}},
    {"monitor": {"state_dir": datetime.date(2024, 1, 1)}},  # as YAML parses an unquoted date
    {"unknown": True},
])
def test_a_violation_is_the_same_error_as_in_process(document: Any) -> None:
    assert violation(check_isolated, document) == violation(check, document)


def test_a_valid_document_passes() -> None:
    check_isolated("settings", {"monitor": {"hostname": "compute1"}})


def test_without_a_child_the_check_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    document = {"monitor": {"hostname": 7}}
    assert violation(check_isolated, document) == violation(check, document)
