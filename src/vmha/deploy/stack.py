"""Create, update, validate and delete vmha's Heat stack; Heat's resource events reported as they come."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openstack
from openstack.orchestration.util import template_utils

from vmha.deploy.errors import DeployError
from vmha.deploy.outputs import Deployment
from vmha.deploy.webhooks import with_webhooks
from vmha.heat import template_path
from vmha.signing import NEVER

Report = Callable[[str], None]
"""Receives one progress line (no timestamp, no newline)."""

_POLL_SECONDS = 1.0
_EVENT_DEPTH = 3  # top-level stack, segment group, segment entry: down to each aggregate


@dataclass(frozen=True)
class StackRequest:
    """What to deploy: the stack's name, template, environment files and parameters; the gateway's webhook
    secret and the expiry (Unix time) of the webhook URLs signed with it (see vmha.deploy.webhooks)."""

    name: str
    template: Path = field(default_factory=template_path)
    environments: tuple[Path, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 600.0
    webhook_secret: str = field(default="", repr=False)
    webhook_expires: int = NEVER


@dataclass(frozen=True)
class Bundle:
    """A template with every nested template and environment file it needs, as Heat's API takes them."""

    template: dict[str, Any]
    files: dict[str, Any]
    environment: dict[str, Any]


def bundle(template: Path, environments: tuple[Path, ...] = ()) -> Bundle:
    """Read ``template``, the nested templates it names and ``environments``; DeployError if unreadable."""
    try:
        files, body = template_utils.get_template_contents(template_file=str(template))
        env_files, environment = template_utils.process_multiple_environments_and_files(
            env_paths=[str(path) for path in environments])
    except (OSError, ValueError, openstack.exceptions.SDKException) as error:
        raise DeployError(f"cannot read the templates: {error}") from error
    return Bundle(dict(body or {}), {**(files or {}), **env_files}, dict(environment))


def validate(conn: Any, parts: Bundle, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Heat's verdict on a template (its parameters and description); DeployError with Heat's reason."""
    environment = {**parts.environment, "parameters": dict(parameters or {})}
    body = {"template": parts.template, "files": parts.files, "environment": environment}
    response = conn.orchestration.post("/validate", json=body)
    if response.status_code >= 400:
        raise DeployError(f"Heat rejects the template: {_reason(response)}")
    result: dict[str, Any] = response.json()
    return result


def deploy(conn: Any, request: StackRequest, report: Report) -> Deployment:
    """Create the stack, or update it when it exists; wait for Heat to finish and return its outputs."""
    parts = bundle(request.template, request.environments)
    parameters = with_webhooks(request.parameters, parts.environment, request.webhook_secret,
                               request.webhook_expires)
    attrs = {"template": parts.template, "files": parts.files, "environment": parts.environment,
             "parameters": parameters}
    existing = conn.orchestration.find_stack(request.name)
    try:
        if existing is None:
            report(f"creating stack {request.name}")
            stack = conn.orchestration.create_stack(name=request.name, **attrs)
            seen: set[str] = set()
            action = "CREATE"
        else:
            report(f"updating stack {request.name}")
            seen = {event.id for event in conn.orchestration.stack_events(existing, nested_depth=_EVENT_DEPTH)}
            conn.orchestration.update_stack(existing, **attrs)
            stack = existing
            action = "UPDATE"
    except openstack.exceptions.HttpException as error:
        raise DeployError(f"Heat refused the stack: {error.details or error}") from error
    final = _Watch(conn, seen, report).wait(stack, action, request.timeout_seconds)
    return Deployment.from_stack(final)


def delete(conn: Any, name: str, report: Report, timeout_seconds: float = 600.0) -> bool:
    """Delete the stack ``name`` and wait until it is gone; False when there was none."""
    stack = conn.orchestration.find_stack(name)
    if stack is None:
        return False
    report(f"deleting stack {name}")
    conn.orchestration.delete_stack(stack)
    try:
        conn.orchestration.wait_for_delete(stack, interval=_POLL_SECONDS, wait=int(timeout_seconds))
    except openstack.exceptions.SDKException as error:
        raise DeployError(f"stack {name} was not deleted: {error}") from error
    report(f"stack {name} deleted")
    return True


class _Watch:
    """Follows one stack action through Heat's events (``seen``: the events that were there before)."""

    def __init__(self, conn: Any, seen: set[str], report: Report) -> None:
        self._conn, self._seen, self._report = conn, seen, report

    def wait(self, stack: Any, action: str, timeout: float) -> Any:
        """Poll until the stack's ``action`` ends, reporting each new event; the stack at the end.

        The stack's status counts only once one of its own events of this action came: right after an
        update request it may still show the previous action's final status.
        """
        deadline = time.monotonic() + timeout
        started = False
        while True:
            current = self._conn.orchestration.get_stack(stack.id)
            started = any(event.physical_resource_id == current.id for event in self._fresh(current)) or started
            status = str(current.status)
            if started and status.startswith(action + "_") and not status.endswith("_IN_PROGRESS"):
                break
            if time.monotonic() > deadline:
                raise DeployError(f"stack {current.name} still {status} after {timeout:.0f} s")
            time.sleep(_POLL_SECONDS)
        if status != action + "_COMPLETE":
            raise DeployError(f"stack {current.name} {status}: {current.status_reason}")
        self._report(f"stack {current.name} {status}")
        return current

    def _fresh(self, stack: Any) -> list[Any]:
        """Report the events not seen yet (oldest first); return them."""
        events = self._conn.orchestration.stack_events(stack, nested_depth=_EVENT_DEPTH)
        fresh = sorted((event for event in events if event.id not in self._seen), key=_order)
        for event in fresh:
            self._seen.add(event.id)
            reason = event.resource_status_reason or ""
            if reason.startswith("Stack ") and event.physical_resource_id != stack.id:
                continue  # a nested stack's own events repeat its parent resource's
            detail = "" if reason.startswith("state changed") or not reason else f"  {reason}"
            self._report(f"{event.resource_name:<28} {event.resource_status}{detail}")
        return fresh


def _order(event: Any) -> tuple[str, bool]:
    """Oldest first; within one second (Heat's resolution) a resource's start before its end."""
    return str(event.event_time), not str(event.resource_status).endswith("_IN_PROGRESS")


def _reason(response: Any) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return str(response.text)[:500]
    return str(error.get("message") or response.text)[:2000]
