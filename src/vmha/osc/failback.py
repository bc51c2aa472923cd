"""``openstack vmha host failback HOST [--wait] [--cancel]``: move back to a host in service the servers its last
recovery evacuated (live migrations, ``vmha.failback``), through the gateway (``POST /v1/hosts/{name}/failback``;
``--cancel``: ``DELETE``, no further migration starts), whatever the segment's ``vmha:failback`` says.

The gateway refuses (one line with its status and reason, exit 1) a host it does not know or in no segment, one
not back in service, one whose segment has a recovery under way, a second failback of the host, or a cancel with
none under way. Without ``--wait`` the command shows the failback as started (the gateway's sweeper moves the
servers); with it, the command reads the failback's notification until it ended (at most ``--timeout``
seconds) and exits 1 when it did not finish.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from osc_lib import exceptions
from osc_lib.command import command

from vmha.osc.client import VmhaClient, vmha

COLUMNS = ("Notification", "Host", "Status", "Message", "Servers")
UNDER_WAY = ("new", "running")
POLL_SECONDS = 2.0


class HostFailback(command.ShowOne):
    """Move back to a host in service the servers its last recovery evacuated (or cancel it)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("host", metavar="<host>", help="a compute host back in service after a vmha recovery")
        parser.add_argument("--cancel", action="store_true",
                            help="cancel the failback under way: no further migration starts, the running ones end")
        parser.add_argument("--wait", action="store_true", help="wait until the failback has ended")
        parser.add_argument("--timeout", type=float, default=1800.0, metavar="<seconds>",
                            help="how long --wait waits (default 1800)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        client = vmha(self)
        method = "DELETE" if parsed_args.cancel else "POST"
        failback = client.request(method, f"hosts/{quote(parsed_args.host, safe='')}/failback")["failback"]
        if parsed_args.wait:
            failback = _waited(client, failback["id"], parsed_args.timeout)
        row = (failback["id"], failback["hostname"], failback["status"], failback["message"] or "",
               "\n".join(_server(vmove) for vmove in failback["vmoves"]))
        if parsed_args.wait and failback["status"] != "finished":
            raise exceptions.CommandError(f"the failback {failback['id']} of {failback['hostname']} ended "
                                          f"{failback['status']}: {failback['message']}\n{row[-1]}")
        return COLUMNS, row


def _waited(client: VmhaClient, failback_id: str, timeout: float) -> dict[str, Any]:
    """The failback once it has ended, with its vmoves; CommandError when it has not within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        notification = client.request("GET", f"notifications/{failback_id}")["notification"]
        if notification["status"] not in UNDER_WAY:
            vmoves = client.request("GET", f"notifications/{failback_id}/vmoves")["vmoves"]
            return {**notification, "vmoves": vmoves}
        if time.monotonic() >= deadline:
            raise exceptions.CommandError(f"the failback {failback_id} is still {notification['status']} after "
                                          f"{timeout:g} s: openstack vmha notification show {failback_id}")
        time.sleep(POLL_SECONDS)


def _server(vmove: Mapping[str, Any]) -> str:
    message = f" ({vmove['message']})" if vmove.get("message") else ""
    return f"{vmove['instance_uuid']}: {vmove['source_host']} -> {vmove['dest_host']} {vmove['status']}{message}"
