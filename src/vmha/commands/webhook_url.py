"""``vmha webhook-url {zaqar|aodh}``: print a signed URL of the gateway's webhooks, for wiring by hand.

Give it as a Zaqar subscription's subscriber (zaqar) or an Aodh alarm action (aodh). It is signed with
the gateway's api.webhook_secret, read from its settings (--settings or VMHA_SETTINGS_FILE, and
VMHA_API_WEBHOOK_SECRET); only the signature is printed, never the secret.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from vmha.contracts import load_settings
from vmha.signing import DEFAULT_EXPIRY, WEBHOOK_PATHS, SigningError, parse_expiry, signed_url


def _run(args: argparse.Namespace) -> int:
    if not args.gateway_url:
        raise SigningError("give the gateway's base URL: --gateway-url or VMHA_GATEWAY_URL")
    secret = load_settings(args.settings).api.webhook_secret
    expires = parse_expiry(args.expires, time.time())
    print(signed_url(args.gateway_url, WEBHOOK_PATHS[args.caller], secret, expires))
    return 0


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("webhook-url", help="print a signed webhook URL of the gateway",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("caller", choices=sorted(WEBHOOK_PATHS), help="who calls it: zaqar (subscription "
                                                                        "pushes) or aodh (alarm actions)")
    command.add_argument("--gateway-url", default=os.environ.get("VMHA_GATEWAY_URL", ""), metavar="URL",
                         help="the gateway's base URL as the caller reaches it; env VMHA_GATEWAY_URL")
    command.add_argument("--expires", default=DEFAULT_EXPIRY, metavar="WHEN",
                         help=f"a duration from now (default {DEFAULT_EXPIRY}; 12h, 30m, 90s), Unix time, ISO 8601 "
                              "or never (until the secret changes)")
    command.add_argument("--settings", type=Path, default=os.environ.get("VMHA_SETTINGS_FILE") or None,
                         help="the gateway's settings file, for api.webhook_secret; env VMHA_SETTINGS_FILE")
    command.set_defaults(run=_run)
