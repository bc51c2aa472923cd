"""Settings as an operator may see them: secrets masked (``vmha settings check``, ``vmha db``).

Two kinds of secret: a field the schema marks ``writeOnly`` (the webhook signing key: masked whole), and the
password of any URL (the journal's database, the coordination backend, RabbitMQ), in its user part or in a
query parameter such as ``?password=``. The secrets of the service config file (``api.config_file``) are
masked by ``vmha.api.auth.masked_config``. ``gateway_secrets`` names those a compute host's settings should never hold.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vmha.contracts.settings import Settings
from vmha.templates import load_schema

MASK = "***"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SECRET_PARAMETER = re.compile(r"pass|secret|token|key", re.IGNORECASE)


def masked_url(text: str) -> str:
    """``text`` with the password of a URL (user part or query) replaced by MASK; other text unchanged."""
    if not _URL.match(text):
        return text
    parts = urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(key, MASK if _SECRET_PARAMETER.search(key) else value) for key, value in pairs],
                          safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return text  # as written: urlunsplit would also drop the empty authority of sqlite:///path
    return urlunsplit(parts._replace(netloc=netloc, query=query))


_MONITOR_OWN = frozenset({"monitor", "coordination_url"})
"""What a compute host's settings need even when secret: its own section, and the host monitor's tooz URL."""


def masked_settings(settings: Settings) -> dict[str, Any]:
    """``settings`` as a JSON-ready tree with every secret masked."""
    tree = _plain(dataclasses.asdict(settings))
    for path, _ in _write_only(load_schema("settings")["properties"]):
        parent = _parent(tree, path)
        parent[path[-1]] = _masked_secret(parent[path[-1]])
    masked: dict[str, Any] = _plain(tree, masked_url)
    return masked


def gateway_secrets(settings: Settings) -> list[str]:
    """The settings outside the monitor's own that hold a secret (a write-only field set, a URL with a
    password), dotted: a compute host's settings should name none (``vmha settings check --role monitor``)."""
    plain = _plain(dataclasses.asdict(settings))
    return [".".join(path) for path, value in _leaves(masked_settings(settings))
            if value != _at(plain, path) and path[0] not in _MONITOR_OWN]


def _masked_secret(value: Any) -> Any:
    return MASK if value else value


def _plain(value: Any, text: Callable[[str], str] = str) -> Any:
    """``value`` with tuples as lists (as JSON has them) and ``text`` applied to every string."""
    if isinstance(value, dict):
        return {key: _plain(item, text) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, text) for item in value]
    return text(value) if isinstance(value, str) else value


def _write_only(properties: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, schema in properties.items():
        if "properties" in schema:
            yield from _write_only(schema["properties"], (*prefix, key))
        elif schema.get("writeOnly"):
            yield (*prefix, key), schema


def _leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _parent(tree: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path[:-1]:
        tree = tree[key]
    return tree


def _at(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = tree
    for key in path:
        value = value[key]
    return value
