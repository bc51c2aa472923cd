"""A TCP relay for the partition test: ``python -m tests.tcp_relay LISTEN_HOST TARGET_HOST PORT...``.

Listens on LISTEN_HOST at each PORT and pipes every connection to the same port on TARGET_HOST. Run once
in the root namespace (the veth's address -> 127.0.0.1) and once inside the test's network namespace
(127.0.0.1 -> the veth's root-side address), it carries the isolated host's traffic to the cloud's
loopback services over the veth, so cutting the veth cuts it. A connection the target refuses, or that
no route reaches, is closed at once. It runs until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def _handler(target: str, port: int) -> Handler:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
    return relay


async def serve(listen: str, target: str, ports: list[int]) -> None:
    """Relay ``listen:port`` to ``target:port`` for every port, until cancelled."""
    servers = [await asyncio.start_server(_handler(target, port), listen, port)
               for port in ports]
    print("relaying", listen, "->", target, *ports, flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sys.argv[1], sys.argv[2], [int(port) for port in sys.argv[3:]]))
