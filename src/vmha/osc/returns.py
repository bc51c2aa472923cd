"""``openstack vmha host return HOST``: return a host vmha recovered to service, through the gateway
(``POST /v1/hosts/{name}/return``), whatever its segment's ``vmha:return_to_service`` and flap window say.

The gateway refuses (one line with its status and reason, exit 1) a host it did not take out of service and
one that is not back yet (a recovery under way, no report from its nova-compute since, its BMC not reporting
the power on). ``Back In Service`` is false while the return is under way: the gateway finishes it on its
next looks (Nova lifts forced_down once the restarted nova-compute completed its evacuation records, and the
service is enabled after its next report).
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

from osc_lib.command import command

from vmha.osc.client import vmha

COLUMNS = ("Host", "Notification", "Back In Service", "Reason", "Result")


class HostReturn(command.ShowOne):
    """Return a host vmha recovered to service (lift forced_down, enable its nova-compute)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("host", metavar="<host>", help="a compute host vmha took out of service")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        done = vmha(self).request("POST", f"hosts/{quote(parsed_args.host, safe='')}/return")["return"]
        result = done["result"]
        return COLUMNS, (done["host"], done["notification_id"], done["back_in_service"], done["reason"],
                         "" if result is None else json.dumps(result, sort_keys=True))
