"""The gateway as a WSGI application for a server of the operator's own: ``vmha.wsgi:application``.

Importing this module builds the whole gateway as ``vmha gateway`` does (settings from the file named by
``VMHA_SETTINGS_FILE``, the step table, intake and failure hook from ``VMHA_STEPS``, ``VMHA_INTAKE`` and
``VMHA_ON_FAILED``, the sweep hook from ``VMHA_ON_SWEEP``) and starts its recovery workers, which run in
their own threads beside the server's; ``application`` is the API behind the
same middleware as the built-in server (``vmha.api.server.pipeline``); the ``http.*`` and listen settings are
the operator's server's business then. Each process that imports it is one gateway replica: under uWSGI use
``--lazy-apps`` (import after the fork: threads do not survive one) and ``--enable-threads``; mod_wsgi runs
it in daemon mode. At exit the replica stops as on SIGTERM (``VMHA_STOP_TIMEOUT`` seconds for in-flight
steps, the rest's claims released).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from pathlib import Path

from vmha.api.auth import WsgiApp
from vmha.cli import (
    DEFAULT_INTAKE,
    DEFAULT_ON_FAILED,
    DEFAULT_ON_SWEEP,
    DEFAULT_STEPS,
    DEFAULT_STOP_TIMEOUT,
    build_gateway,
)
from vmha.gateway import warm_up


def load(environ: Mapping[str, str]) -> WsgiApp:
    """Build the gateway ``environ`` describes, start its recovery workers, return its WSGI application."""
    settings_file = environ.get("VMHA_SETTINGS_FILE")
    built = build_gateway(Path(settings_file) if settings_file else None, environ.get("VMHA_STEPS", DEFAULT_STEPS),
                          environ.get("VMHA_INTAKE", DEFAULT_INTAKE), environ.get("VMHA_ON_FAILED", DEFAULT_ON_FAILED),
                          environ.get("VMHA_ON_SWEEP", DEFAULT_ON_SWEEP))
    warm_up(built.services.cloud)
    built.consumer.start()
    atexit.register(built.stop, float(environ.get("VMHA_STOP_TIMEOUT", DEFAULT_STOP_TIMEOUT)))
    return built.http.application


application = load(os.environ)
