"""The OpenStackClient plugin hooks (osc-lib's plugin contract)."""

from __future__ import annotations

import argparse
from typing import Any

from vmha.osc.client import VmhaClient

API_NAME = "vmha"
API_VERSION_OPTION = "os_vmha_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "vmha.osc.client.VmhaClient"}


def make_client(instance: Any) -> VmhaClient:
    """vmha's client for OSC's client manager (its openstacksdk connection)."""
    return VmhaClient(instance.sdk_connection)


def build_option_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The plugin's global option: the API version (there is one)."""
    parser.add_argument("--os-vmha-api-version", metavar="<vmha-api-version>", default=DEFAULT_API_VERSION,
                        help="vmha API version, default 1 (the only one)")
    return parser
