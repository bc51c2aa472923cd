"""The fencing configuration: BMC access per compute host, validated by ``fencing.schema.json``."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmha.contracts import ContractError
from vmha.contracts.validation import check, load_document


class Protocol(enum.Enum):
    REDFISH = "redfish"
    IPMI = "ipmi"


@dataclass(frozen=True)
class BmcAccess:
    """How to reach one host's BMC. ``password`` is excluded from repr so it never reaches a log."""

    host: str
    protocol: Protocol
    address: str
    username: str
    password: str = field(repr=False)
    port: int = 623
    system_id: str | None = None
    verify_tls: bool = True
    timeout_seconds: float = 10.0


def load_fencing_config(path: Path | str, environ: Mapping[str, str] | None = None) -> dict[str, BmcAccess]:
    """BMC access per host from a YAML/JSON file; raises ContractError naming the offending field."""
    return parse_fencing_config(load_document(Path(path)), os.environ if environ is None else environ)


def parse_fencing_config(document: Any, environ: Mapping[str, str]) -> dict[str, BmcAccess]:
    check("fencing", document)
    return {host: _access(host, entry, environ) for host, entry in document["hosts"].items()}


def _access(host: str, entry: Mapping[str, Any], environ: Mapping[str, str]) -> BmcAccess:
    return BmcAccess(
        host=host,
        protocol=Protocol(entry["protocol"]),
        address=entry["address"],
        username=entry["username"],
        password=_password(host, entry, environ),
        port=entry.get("port", 623),
        system_id=entry.get("system_id"),
        verify_tls=entry.get("verify_tls", True),
        timeout_seconds=float(entry.get("timeout_seconds", 10)),
    )


def _password(host: str, entry: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    if "password" in entry:
        return str(entry["password"])
    if "password_env" in entry:
        name = entry["password_env"]
        if name not in environ:
            raise ContractError(f"environment variable {name} (BMC password of {host}) is not set",
                                f"hosts/{host}/password_env")
        return environ[name]
    path = Path(entry["password_file"])
    try:
        return path.read_text().rstrip("\n")
    except OSError as error:
        raise ContractError(f"cannot read the BMC password file of {host}: {error.strerror}",
                            f"hosts/{host}/password_file") from error
