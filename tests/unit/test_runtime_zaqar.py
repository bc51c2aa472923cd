"""The gateway's Zaqar queues give up on a Zaqar that accepts a connection and never answers, after the
session's timeout, with an error the runtime counts as an outage. (A local socket stands in for the hanging
Zaqar: the shared local Zaqar cannot be made to hang for one test.)"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from keystoneauth1 import exceptions as keystone_errors
from keystoneauth1 import session as keystone_session
from keystoneauth1 import token_endpoint

from vmha.runtime import ZaqarQueues
from vmha.runtime.poison import is_outage


@pytest.fixture
def silent_zaqar() -> Iterator[str]:
    """The URL of a listener that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_zaqar_that_never_answers_is_given_up_after_the_sessions_timeout(silent_zaqar: str) -> None:
    session = keystone_session.Session(auth=token_endpoint.Token(silent_zaqar, "token"), timeout=0.5)
    queues = ZaqarQueues(session)
    began = time.monotonic()
    with pytest.raises(keystone_errors.ConnectTimeout) as raised:
        queues.post("steps", [{"step": "one"}], ttl=60)
    assert time.monotonic() - began < 5  # python-zaqarclient's own requests would wait forever
    assert is_outage(raised.value)
