"""Webhook receivers on loopback for the custom-step tests: the shipped example (examples/webhook_receiver.py,
loaded as its operator would run it) and the tests' own handlers."""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

RECEIVER = Path(__file__).resolve().parents[1] / "examples" / "webhook_receiver.py"


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on 127.0.0.1 (a free port) while inside; the URL of its /hook."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def example_receiver(monkeypatch: pytest.MonkeyPatch, secret: str) -> Iterator[tuple[str, ModuleType]]:
    """The shipped example receiver signing with ``secret``, served on loopback: its URL and its module (whose
    ``answers`` are what it did, by idempotency key)."""
    monkeypatch.setenv("VMHA_WEBHOOK_SECRET", secret)
    spec = importlib.util.spec_from_file_location("vmha_example_webhook_receiver", RECEIVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with serving(module.Receiver) as url:
        yield url, module
