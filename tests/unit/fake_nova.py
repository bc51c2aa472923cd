"""A small stateful fake of the openstacksdk compute surface the recovery steps use.

Unit tests fake Nova because driving the real one through every edge case (stuck tasks, 5xx, capacity
exhaustion) is slow or impossible; the integration tests run the same steps against the real local cloud.
Asynchronous Nova work (evacuations, stops, starts) stays in progress until ``settle()``.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from openstack import exceptions

BINARY = "nova-compute"
_ids = itertools.count(1)


def http_error(kind: type[Any], status: int, text: str) -> Any:
    """An openstacksdk HTTP exception as the SDK raises it for a response with ``status``."""
    response = requests.Response()
    response.status_code = status
    return kind(message=text, response=response, details=text)


@dataclass
class FakeService:
    host: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    binary: str = BINARY
    status: str = "enabled"
    disabled_reason: str | None = None
    is_forced_down: bool = False
    alive: bool = True
    updated_at: str | None = None

    @property
    def state(self) -> str:
        return "up" if self.alive and not self.is_forced_down else "down"


@dataclass
class FakeServer:
    compute_host: str
    metadata: dict[str, str] = field(default_factory=dict)
    vm_state: str = "active"
    task_state: str | None = None
    power_state: int = 1
    is_locked: bool = False
    tags: list[str] = field(default_factory=list)
    project_id: str = "project-a"
    image: dict[str, str] = field(default_factory=lambda: {"id": "image-a"})
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    pending: tuple[str, str | None] | None = None
    fault: dict[str, str] | None = None
    updated_at: str | None = None


@dataclass
class FakeMigration:
    """An evacuation record of os-migrations."""

    server_id: str
    source_compute: str
    id: int = field(default_factory=lambda: next(_ids))
    status: str = "accepted"
    migration_type: str = "evacuation"
    created_at: str = "2030-01-01T00:00:00.000000"


@dataclass
class FakeAggregate:
    name: str
    hosts: list[str]
    metadata: dict[str, str]
    id: str = field(default_factory=lambda: str(next(_ids)))
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = "2030-01-01T00:00:00.000000"
    updated_at: str | None = None


class FakeCompute:
    """``conn.compute`` of a cloud with the given hosts, all up and enabled."""

    def __init__(self, hosts: tuple[str, ...] = ("compute1", "compute2", "compute3")) -> None:
        self.service_by_host = {host: FakeService(host) for host in hosts}
        self.server_by_id: dict[str, FakeServer] = {}
        self.aggregate_list: list[FakeAggregate] = []
        self.migration_list: list[FakeMigration] = []
        self.calls: list[tuple[str, Any]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.full_hosts: set[str] = set()
        self.disabled_while_up = 0

    # test set-up
    def add_server(self, host: str, **attrs: Any) -> FakeServer:
        server = FakeServer(host, **attrs)
        self.server_by_id[server.id] = server
        return server

    def add_aggregate(self, name: str, hosts: list[str], metadata: dict[str, str]) -> FakeAggregate:
        aggregate = FakeAggregate(name, hosts, metadata)
        self.aggregate_list.append(aggregate)
        return aggregate

    def fail_next(self, method: str, error: Exception) -> None:
        self.failures.setdefault(method, []).append(error)

    def _call(self, method: str, argument: Any = None) -> None:
        self.calls.append((method, argument))
        queued = self.failures.get(method)
        if queued:
            raise queued.pop(0)

    def called(self, method: str) -> list[Any]:
        return [argument for name, argument in self.calls if name == method]

    # services
    def services(self, host: str | None = None, binary: str | None = None) -> list[FakeService]:
        self._call("services", host)
        return [s for s in self.service_by_host.values() if host in (None, s.host) and binary in (None, s.binary)]

    def update_service(self, service: FakeService | str, **attrs: Any) -> FakeService:
        self._call("update_service", attrs)
        if len(attrs.get("disabled_reason") or "") > 255:
            raise http_error(exceptions.BadRequestException, 400, "disabled_reason is longer than 255")
        stored = next(s for s in self.service_by_host.values() if s.id == getattr(service, "id", service))
        if attrs.get("status") == "disabled" and stored.state == "up":
            self.disabled_while_up += 1
        stored.is_forced_down = attrs.get("forced_down", stored.is_forced_down)
        stored.status = attrs.get("status", stored.status)
        if "disabled_reason" in attrs or stored.status == "enabled":
            stored.disabled_reason = attrs.get("disabled_reason")
        return stored

    # aggregates
    def aggregates(self) -> list[FakeAggregate]:
        self._call("aggregates")
        return list(self.aggregate_list)

    def _aggregate(self, aggregate: FakeAggregate | str) -> FakeAggregate:
        wanted = aggregate if isinstance(aggregate, str) else aggregate.id
        return next(a for a in self.aggregate_list if a.id == wanted)

    def create_aggregate(self, name: str) -> FakeAggregate:
        self._call("create_aggregate", name)
        if any(aggregate.name == name for aggregate in self.aggregate_list):
            raise http_error(exceptions.ConflictException, 409, f"Aggregate {name} already exists.")
        return self.add_aggregate(name, [], {})

    def update_aggregate(self, aggregate: FakeAggregate | str, name: str) -> FakeAggregate:
        self._call("update_aggregate", name)
        if any(other.name == name for other in self.aggregate_list):
            raise http_error(exceptions.ConflictException, 409, f"Aggregate {name} already exists.")
        found = self._aggregate(aggregate)
        found.name = name
        return found

    def set_aggregate_metadata(self, aggregate: FakeAggregate | str, metadata: dict[str, str | None]) -> FakeAggregate:
        self._call("set_aggregate_metadata", metadata)
        found = self._aggregate(aggregate)
        for key, value in metadata.items():
            if value is None:
                found.metadata.pop(key, None)
            else:
                found.metadata[key] = value
        return found

    def delete_aggregate(self, aggregate: FakeAggregate | str) -> None:
        self._call("delete_aggregate", aggregate)
        found = self._aggregate(aggregate)
        if found.hosts:
            raise http_error(exceptions.BadRequestException, 400, f"Aggregate {found.id} still has hosts.")
        self.aggregate_list.remove(found)

    def add_host_to_aggregate(self, aggregate: FakeAggregate | str, host: str) -> FakeAggregate:
        self._call("add_host_to_aggregate", host)
        found = self._aggregate(aggregate)
        if host not in self.service_by_host:
            raise http_error(exceptions.NotFoundException, 404, f"Compute host {host} could not be found.")
        if host in found.hosts:
            raise http_error(exceptions.ConflictException, 409, f"{host} already in {found.name}")
        found.hosts.append(host)
        return found

    def remove_host_from_aggregate(self, aggregate: FakeAggregate | str, host: str) -> FakeAggregate:
        self._call("remove_host_from_aggregate", host)
        found = self._aggregate(aggregate)
        if host not in found.hosts:
            raise http_error(exceptions.NotFoundException, 404, f"{host} not in {found.name}")
        found.hosts.remove(host)
        return found

    # servers
    def servers(self, details: bool = True, all_projects: bool = False, compute_host: str = "") -> list[FakeServer]:
        self._call("servers", compute_host)
        assert details and all_projects
        return [s for s in self.server_by_id.values() if s.compute_host == compute_host]

    def get_server(self, server_id: str) -> FakeServer:
        """A copy, as openstacksdk's server is what Nova said at the read, not the server as it is now."""
        self._call("get_server", server_id)
        if server_id not in self.server_by_id:
            raise http_error(exceptions.NotFoundException, 404, f"server {server_id} not found")
        return dataclasses.replace(self.server_by_id[server_id])

    def _stored(self, server: FakeServer | str) -> FakeServer:
        """The server an action names by object or id (openstacksdk takes either); 404 if it is gone."""
        server_id = server if isinstance(server, str) else server.id
        if server_id not in self.server_by_id:
            raise http_error(exceptions.NotFoundException, 404, f"server {server_id} not found")
        return self.server_by_id[server_id]

    def evacuate_server(self, server: FakeServer | str, host: str | None = None) -> None:
        stored = self._stored(server)
        self._call("evacuate_server", (stored.id, host))
        if self.service_by_host[stored.compute_host].state == "up":
            raise http_error(exceptions.BadRequestException, 400, f"Compute service of {stored.compute_host} is "
                                                                  "still in use.")
        if stored.task_state is not None or stored.vm_state not in ("active", "stopped", "error"):
            raise http_error(exceptions.ConflictException, 409, f"cannot evacuate while {stored.vm_state}")
        stored.task_state, stored.pending = "rebuilding", ("evacuate", host)
        self.migration_list.append(FakeMigration(stored.id, stored.compute_host))

    def migrations(self, **query: str) -> list[FakeMigration]:
        self._call("migrations", query)
        return [m for m in self.migration_list if all(getattr(m, key) == value for key, value in query.items())]

    def reset_server_state(self, server: FakeServer | str, state: str) -> None:
        stored = self._stored(server)
        self._call("reset_server_state", (stored.id, state))
        stored.vm_state, stored.task_state, stored.pending = state, None, None

    def stop_server(self, server: FakeServer) -> None:
        self._call("stop_server", server.id)
        stored = self.server_by_id[server.id]
        if stored.vm_state not in ("active", "error") or stored.task_state is not None:
            raise http_error(exceptions.ConflictException, 409, f"cannot stop while {stored.vm_state}")
        stored.task_state, stored.pending = "powering-off", ("stop", None)

    def start_server(self, server: FakeServer) -> None:
        self._call("start_server", server.id)
        stored = self.server_by_id[server.id]
        if stored.vm_state != "stopped" or stored.task_state is not None:
            raise http_error(exceptions.ConflictException, 409, f"cannot start while {stored.vm_state}")
        stored.task_state, stored.pending = "powering-on", ("start", None)

    def lock_server(self, server: FakeServer | str) -> None:
        stored = self._stored(server)
        self._call("lock_server", stored.id)
        stored.is_locked = True

    def unlock_server(self, server: FakeServer) -> None:
        self._call("unlock_server", server.id)
        self.server_by_id[server.id].is_locked = False

    # time passing
    def settle(self) -> None:
        """Finish every asynchronous operation in progress, as Nova eventually would."""
        for server in self.server_by_id.values():
            if server.pending is not None:
                action, target = server.pending
                server.pending, server.task_state = None, None
                if action == "evacuate":
                    self._finish_evacuation(server, target)
                else:
                    {"stop": self._stopped, "start": self._started}[action](server, target)

    def rebuild(self) -> None:
        """Bring every evacuation to Nova's last stretch: rebuilt (no task left) but still on the failed host.

        Nova clears the task state before the destination takes the server over and marks the migration done.
        """
        for server in self.server_by_id.values():
            if server.pending is not None and server.pending[0] == "evacuate":
                server.task_state = None

    def _finish_evacuation(self, server: FakeServer, target: str | None) -> None:
        source = server.compute_host
        self._evacuated(server, target)
        migration = [m for m in self.migration_list if m.server_id == server.id][-1]
        migration.status = "done" if server.compute_host != source else "error"

    def _evacuated(self, server: FakeServer, target: str | None) -> None:
        destination = target or self._schedule(server.compute_host)
        if destination is None:  # NoValidHost: Nova leaves the server where it was, in ERROR
            server.vm_state, server.fault = "error", {"message": "No valid host was found."}
            return
        server.compute_host = destination
        server.vm_state = "stopped" if server.vm_state == "stopped" else "active"
        server.power_state = 4 if server.vm_state == "stopped" else 1

    def _schedule(self, source: str) -> str | None:
        usable = [s.host for s in self.service_by_host.values()
                  if s.host != source and s.state == "up" and s.status == "enabled" and s.host not in self.full_hosts]
        return usable[0] if usable else None

    def _stopped(self, server: FakeServer, _target: str | None) -> None:
        server.vm_state, server.power_state = "stopped", 4

    def _started(self, server: FakeServer, _target: str | None) -> None:
        server.vm_state, server.power_state = "active", 1


class FakeCloud:
    """The ``ctx.cloud`` connection: only ``compute`` is used by the steps."""

    def __init__(self, hosts: tuple[str, ...] = ("compute1", "compute2", "compute3")) -> None:
        self.compute = FakeCompute(hosts)
