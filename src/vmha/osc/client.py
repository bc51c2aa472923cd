"""What the commands work with: the OSC session's openstacksdk connection, vmha's settings and journal, and
Zaqar (python-zaqarclient on the same session). A client: it never imports the gateway's runtime."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from zaqarclient.queues import client as zaqar_client

from vmha.contracts import Settings, load_settings
from vmha.journal import Journal
from vmha.journal.upkeep import open_current


class VmhaClient:
    """Settings and journal are read on first use (segment commands need neither)."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud

    @cached_property
    def settings(self) -> Settings:
        """vmha's settings: ``VMHA_SETTINGS_FILE`` if set, then the ``VMHA_*`` variables."""
        return load_settings(os.environ.get("VMHA_SETTINGS_FILE") or None)

    @cached_property
    def journal(self) -> Journal:
        """The journal named by the settings' ``journal_url``, as it is: a client never migrates it."""
        return open_current(self.settings.journal_url)

    def post(self, queue: str, body: Any, *, ttl: int) -> None:
        """Post one message to a Zaqar queue, undelayed (the runtime gives its queues a default delay)."""
        zaqar = zaqar_client.Client(version=2, session=self.cloud.session)
        zaqar.queue(queue, auto_create=False).post([{"body": body, "ttl": ttl, "delay": 0}])


def vmha(command: Any) -> VmhaClient:
    """The client of a running command."""
    client: VmhaClient = command.app.client_manager.vmha
    return client
