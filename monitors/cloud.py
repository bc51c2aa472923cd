"""The monitors' Keystone session, read from clouds.yaml without openstacksdk.

A monitor runs on every compute host in a small memory budget, so it reads clouds.yaml itself (PyYAML)
with os-client-config's rules for the keys it needs: the file named by OS_CLIENT_CONFIG_FILE, else the
first of ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml; secure.yaml found
the same way (OS_CLIENT_SECURE_FILE) merged over it; the cloud named by the setting, else OS_CLOUD, else
the only cloud of the file; ``auth_type`` (password by default), ``auth``, ``region_name``, ``interface``
(public by default), ``verify``/``insecure``, ``cacert``, ``cert``/``key``. ``LazySession`` builds the
keystoneauth1 session on first use; a long-running monitor warms it at start in the background (``warm``),
so that the first failure it reports does not wait for keystoneauth1's import and a token (about 1 s), and
wrong credentials show in the log at start rather than at the first failure. A ``--once`` pass with
nothing to report never loads keystoneauth1.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from keystoneauth1.session import Session

_LOG = logging.getLogger(__name__)
AUTH_TYPES = ("password", "v3password", "v3applicationcredential")
_DIRECTORIES = (Path.cwd, lambda: Path.home() / ".config" / "openstack", lambda: Path("/etc/openstack"))


class CloudConfigError(Exception):
    """clouds.yaml is missing, unreadable, or does not describe the cloud asked for."""


@dataclass(frozen=True)
class CloudConfig:
    """What a monitor needs of one clouds.yaml entry."""

    name: str
    auth_type: str
    auth: Mapping[str, Any]
    region_name: str | None = None
    interface: str = "public"
    verify: bool | str = True
    """False, True, or the path of a CA bundle."""
    cert: str | tuple[str, str] | None = None


def load_cloud(name: str, environ: Mapping[str, str] = os.environ) -> CloudConfig:
    """The cloud ``name`` (empty: OS_CLOUD, else the file's only cloud) of the clouds.yaml in use."""
    clouds = _clouds(_clouds_file(environ.get("OS_CLIENT_CONFIG_FILE", "")))
    secure = environ.get("OS_CLIENT_SECURE_FILE", "")
    secure_path = Path(secure) if secure else _find_optional("secure.yaml")
    secrets = _clouds(secure_path) if secure_path else {}
    name = name or environ.get("OS_CLOUD", "") or (next(iter(clouds)) if len(clouds) == 1 else "")
    if not name:
        raise CloudConfigError(f"no cloud named: set OS_CLOUD or the setting, one of {sorted(clouds)}")
    if name not in clouds:
        raise CloudConfigError(f"cloud {name!r} is not in clouds.yaml (it has {sorted(clouds)})")
    return _config(name, _merged(clouds[name], secrets.get(name, {})))


def _find_optional(filename: str) -> Path | None:
    return next((directory() / filename for directory in _DIRECTORIES if (directory() / filename).is_file()), None)


def _clouds_file(named: str) -> Path:
    path = Path(named) if named else _find_optional("clouds.yaml")
    if path is None:
        raise CloudConfigError("no clouds.yaml (OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/)")
    return path


def _clouds(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CloudConfigError(f"{path}: {error}") from error
    clouds = document.get("clouds") if isinstance(document, dict) else None
    if not isinstance(clouds, dict):
        raise CloudConfigError(f"{path}: no 'clouds' mapping")
    return clouds


def _merged(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in over.items()}}
    return over if over is not None else base


def _config(name: str, entry: Any) -> CloudConfig:
    if not isinstance(entry, dict) or not isinstance(entry.get("auth"), dict):
        raise CloudConfigError(f"cloud {name!r} has no 'auth' mapping")
    auth_type = str(entry.get("auth_type", "password"))
    if auth_type not in AUTH_TYPES:
        raise CloudConfigError(f"cloud {name!r}: auth_type {auth_type!r} is not one of {', '.join(AUTH_TYPES)}")
    verify: bool | str = not entry.get("insecure", False) and bool(entry.get("verify", True))
    if verify and entry.get("cacert"):
        verify = str(entry["cacert"])
    cert = (str(entry["cert"]), str(entry["key"])) if entry.get("cert") and entry.get("key") else entry.get("cert")
    return CloudConfig(name, auth_type, dict(entry["auth"]), entry.get("region_name") or None,
                       str(entry.get("interface", "public")), verify, cert)


def build_session(cloud: CloudConfig, timeout: float | None = None) -> Session:
    """A keystoneauth session for ``cloud``; every request through it times out after ``timeout`` seconds."""
    # Imported here: keystoneauth1 brings requests and ssl, tens of MB a quiet monitor never needs.
    from keystoneauth1 import session  # noqa: PLC0415
    from keystoneauth1.identity import generic, v3  # noqa: PLC0415

    plugins = {"password": generic.Password, "v3password": v3.Password,
               "v3applicationcredential": v3.ApplicationCredential}
    try:
        auth = plugins[cloud.auth_type](**cloud.auth)
    except TypeError as error:
        raise CloudConfigError(f"cloud {cloud.name!r}: auth: {error}") from error
    built: Session = session.Session(auth=auth, verify=cloud.verify, cert=cloud.cert, timeout=timeout)
    return built


class LazySession:
    """The session of ``cloud``, built on first use and then shared (thread-safe)."""

    def __init__(self, cloud: CloudConfig, timeout: float | None = None) -> None:
        self.cloud = cloud
        self._timeout = timeout
        self._session: Session | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Session:
        with self._lock:
            if self._session is None:
                self._session = build_session(self.cloud, self._timeout)
            return self._session

    def warm(self) -> None:
        """Build the session and authenticate now; a failure is only logged (delivery retries it later)."""
        from keystoneauth1 import exceptions  # noqa: PLC0415  (with the session, see build_session)

        try:
            self().get_token()
        except (exceptions.ClientException, CloudConfigError, OSError) as error:
            _LOG.warning("cannot authenticate yet; notifications are spooled until it works",
                         extra={"cloud": self.cloud.name, "error": f"{type(error).__name__}: {error}"})
