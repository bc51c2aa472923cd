"""Helpers of the gateway API's tests: an in-process gateway (consumer + HTTP API) on per-test queues and
journal, a Keystone-authenticated HTTP session, boto3's lambda client on a Keystone EC2 credential of the
admin user, and rows counted in the journal."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import requests
import sqlalchemy as sa

from tests.cloud import catalog
from tests.cloud.layout import REGION, Layout
from vmha.api import Metrics, keystone_filter
from vmha.cloud.request_ids import traced
from vmha.context import COMPUTE_MICROVERSION
from vmha.contracts import Settings, parse_settings
from vmha.gateway import Gateway
from vmha.journal import open_journal
from vmha.runtime import IntakeFunction, Services, StepTable, ZaqarQueues
from vmha.versioned_notifications import VersionedNotifier

from .runtime_support import Place

WEBHOOK_SECRET = "vmha-test-webhook-secret"


def api_settings(place: Place, *, config_file: str = "", **gateway: Any) -> Settings:
    """The Place's settings with the API's webhook secret and service config file, on a free port."""
    document = {
        "journal_url": place.journal_url, "dedup_window_seconds": 180, "queues": place.queues,
        "retry": {"initial_delay_seconds": 1, "max_delay_seconds": 2, "recheck_interval_seconds": 1},
        "gateway": {"workers": 2, "poll_interval_seconds": 1.0, "listen_port": 0, **gateway},
        "api": {"webhook_secret": WEBHOOK_SECRET, "max_body_bytes": 65536, "config_file": config_file},
    }
    return parse_settings(document, {})


@dataclass(frozen=True)
class Running:
    """A started gateway and what the tests talk to it with."""

    gateway: Gateway
    url: str
    token: str
    conn: Any
    key: tuple[str, str]

    def call(self, method: str, path: str, *, token: str | None = "admin", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["X-Auth-Token"] = self.token if token == "admin" else token
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def lambda_client(self, secret: str | None = None, key: tuple[str, str] | None = None) -> Any:
        """boto3's lambda client signing with ``key`` (access, secret; default: the admin's EC2 credential),
        its secret replaced by ``secret``."""
        access, own = key or self.key
        return boto3.client("lambda", endpoint_url=self.url, region_name=REGION, aws_access_key_id=access,
                            aws_secret_access_key=secret or own,
                            config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60))

    def count(self, table: str) -> int:
        engine = sa.create_engine(self.gateway.services.settings.journal_url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
        finally:
            engine.dispose()


@contextlib.contextmanager
def ec2_credential(conn: Any) -> Iterator[tuple[str, str]]:
    """A Keystone EC2 credential (access, secret) of ``conn``'s user in its project, deleted afterwards."""
    access, secret = f"vmha-{uuid.uuid4().hex}", uuid.uuid4().hex
    made = conn.identity.create_credential(type="ec2", user_id=conn.current_user_id,
                                           project_id=conn.current_project_id,
                                           blob=json.dumps({"access": access, "secret": secret}))
    try:
        yield access, secret
    finally:
        conn.identity.delete_credential(made, ignore_missing=True)


@contextlib.contextmanager
def serving(layout: Layout, settings: Settings, table: StepTable, intake: IntakeFunction) -> Iterator[Running]:
    """A gateway like ``vmha gateway`` builds it, running ``table`` and ``intake``, stopped afterwards."""
    conn: Any = traced(catalog.connect(layout, "vmha-admin", compute_microversion=COMPUTE_MICROVERSION))
    journal = open_journal(settings.journal_url)
    names = settings.queues
    queues = ZaqarQueues(conn.session)
    metrics = Metrics(journal, (names.notifications, names.steps), queues.stats, conn, settings)
    services = Services(settings, journal, queues, metrics.instrument(table),
                        metrics.instrument_intake(intake), conn, events=VersionedNotifier(settings.notifications))
    metrics.count_events(services.events)
    gateway = Gateway(services, metrics, keystone_filter(conn, settings.api.config_file))
    gateway.start()
    try:
        with ec2_credential(conn) as key:
            yield Running(gateway, gateway.http.url, conn.session.get_token(), conn, key)
    finally:
        gateway.stop(30)
        conn.close()
