"""Fuzz benchmark: generated junk through every door of a `vmha gateway` on the local cloud (issue 15).

``--count`` inputs (``tests.bench.fuzz_inputs``, seeded), shared round-robin between the doors: Masakari's
``POST /v1/notifications`` (Keystone token), the signed Zaqar and Aodh webhooks, Lambda Invoke (SigV4) and
Qinling executions of intake and a step, and Zaqar posts straight onto the notifications and steps queues
(the raw text as the message body, or the same text as a JSON string). One gateway process runs the
runtime's test step table and intake (``tests.runtime_steps``: nothing touches a server) on fresh queues, a
SQLite journal and a disabled segment whose only host is made up; all removed afterwards.
It prints the status codes per door, the gateway's 5xx (must be 0), the messages left undecided in the two
queues once they drained (must be 0), the dead letters, and the gateway's RSS before (after ``--warmup``
uncounted inputs) and after;
``--json`` writes the same. Zaqar's own answers to the queue posts are counted apart (a body Zaqar
refuses never reaches vmha). Run: `.venv/bin/python -m tests.bench.fuzz [--count 10000] [--seed 1] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from zaqarclient.transport import errors as zaqar_errors

from tests.bench import fuzz_inputs as inputs
from tests.bench.gateway import KEY, SECRET, environment, free_port, gateways, lambda_key, usage
from tests.cloud import catalog, helpers
from tests.cloud.layout import REGION, Layout
from vmha.signing import AODH_PATH, ZAQAR_PATH, signed_url

WEBHOOK_SECRET = "fuzz-webhook-secret"
QUEUE_TTL = 3600
_ERRORS = ("request failed", "message handling failed; it returns when its claim expires", "claiming failed")
Send = Callable[[bytes, random.Random], int]


@dataclass
class Results:
    """What one run saw."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    undecided: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    rss_mib: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0
    logged: Counter[str] = field(default_factory=Counter)
    """Errors in the gateway's log: unhandled requests, messages whose handling raised."""

    @property
    def server_errors(self) -> int:
        """5xx answered by the gateway (the queue doors' statuses are Zaqar's)."""
        return sum(count for door, seen in self.statuses.items() if not door.startswith("queue")
                   for status, count in seen.items() if status >= 500)


@dataclass(frozen=True)
class Target:
    """The running gateway and what the doors need to reach it."""

    url: str
    token: str
    zaqar: str
    queues: dict[str, str]
    host: str

    def doors(self) -> dict[str, tuple[Callable[[random.Random], bytes], Send]]:
        """Each door: a body generator and how to send a body (returns the HTTP status)."""
        keystone = {"X-Auth-Token": self.token, "Content-Type": "application/json"}
        expires = int(time.time()) + 86400

        def post(url: str, headers: dict[str, str]) -> Send:
            return lambda data, rng: requests.post(url, data=data, headers=headers, timeout=60).status_code

        def lambda_invoke(data: bytes, rng: random.Random) -> int:
            url = f"{self.url}/2015-03-31/functions/{rng.choice(['intake', 'ok'])}/invocations"
            request = AWSRequest(method="POST", url=url, data=data)
            SigV4Auth(Credentials(KEY, SECRET), "lambda", REGION).add_auth(request)
            return requests.post(url, data=data, headers=dict(request.headers), timeout=60).status_code

        def execution(data: bytes, rng: random.Random) -> int:
            url = f"{self.url}/v1/functions/{rng.choice(['intake', 'ok'])}/executions"
            return requests.post(url, data=data, headers=keystone, timeout=60).status_code

        def enqueue(role: str) -> Send:
            def send(data: bytes, rng: random.Random) -> int:
                text = data if rng.random() < 0.5 else json.dumps(data.decode("utf-8", "surrogateescape")).encode()
                envelope = b'{"messages": [{"ttl": %d, "body": %s}]}' % (QUEUE_TTL, text)
                headers = {**keystone, "Client-ID": str(uuid.uuid4())}
                url = f"{self.zaqar}/v2/queues/{self.queues[role]}/messages"
                return requests.post(url, data=envelope, headers=headers, timeout=60).status_code
            return send

        step = inputs.step_message
        return {
            "masakari": (lambda rng: inputs.body(inputs.masakari_body(self.host), rng),
                         post(self.url + "/v1/notifications", keystone)),
            "zaqar-webhook": (lambda rng: inputs.body(inputs.wake, rng),
                              post(signed_url(self.url, ZAQAR_PATH, WEBHOOK_SECRET, expires), {})),
            "aodh-webhook": (lambda rng: inputs.body(inputs.alarm, rng),
                             post(signed_url(self.url, AODH_PATH, WEBHOOK_SECRET, expires), {})),
            "lambda-invoke": (lambda rng: inputs.body(inputs.notification if rng.random() < 0.5 else step, rng),
                              lambda_invoke),
            "qinling-execution": (lambda rng: inputs.body(inputs.execution, rng), execution),
            "queue-notifications": (lambda rng: inputs.body(inputs.notification, rng), enqueue("notifications")),
            "queue-steps": (lambda rng: inputs.body(step, rng), enqueue("steps")),
        }


def fire(target: Target, count: int, seed: int, clients: int, results: Results) -> None:
    """Send ``count`` inputs round-robin over the doors from ``clients`` threads."""
    doors = list(target.doors().items())
    results.statuses = {name: Counter() for name, _ in doors}
    lock = threading.Lock()
    numbers = iter(range(count))

    def client() -> None:
        for number in numbers:
            rng = random.Random(seed * 1_000_003 + number)
            name, (make, send) = doors[number % len(doors)]
            try:
                status = send(make(rng), rng)
            except requests.RequestException:  # the connection dropped: counted as a server error
                status = 599
            with lock:
                results.statuses[name][status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def drain(client: Any, queues: dict[str, str], timeout: float) -> dict[str, int]:
    """Wait until the consumed queues are empty (or ``timeout`` s); the messages left in each (-1: Zaqar could
    not count them: its Redis store fails the stats of a queue while claims on it expire)."""
    ends = time.monotonic() + timeout
    while True:
        try:
            counts = {role: int(client.queue(queues[role], auto_create=False).stats["messages"]["total"])
                      for role in ("notifications", "steps")}
        except zaqar_errors.ServiceUnavailableError:
            counts = {"notifications": -1, "steps": -1}
        if not any(counts.values()) or time.monotonic() >= ends:
            return counts
        time.sleep(1)


@contextmanager
def staged(layout: Layout, conn: Any) -> Iterator[tuple[dict[str, str], str]]:
    """Fresh queue names and a disabled segment with a made-up host; removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    host = f"fuzz-{suffix}"
    queues = {kind: f"fuzz-{suffix}-{kind}" for kind in ("notifications", "steps", "dead_letters")}
    aggregate = conn.compute.create_aggregate(name=f"vmha-fuzz-{suffix}")
    client = helpers.zaqar(conn)
    try:
        conn.compute.set_aggregate_metadata(aggregate, {"vmha:enabled": "false", "vmha:reserved_hosts": host})
        client.queue(queues["notifications"], force_create=True)
        yield queues, host
    finally:
        conn.compute.delete_aggregate(aggregate)
        for name in queues.values():
            client.queue(name, auto_create=False).delete()


def measure(layout: Layout, count: int, seed: int, clients: int, *, drain_seconds: float = 120.0,
            warmup: int = 500) -> Results:
    """One fuzz run against a gateway started for it; the RSS before is taken after ``warmup`` other inputs
    (uncounted), once the gateway loaded what its first requests load."""
    conn = catalog.connect(layout)
    lambda_key(conn)
    results = Results()
    try:
        with staged(layout, conn) as (queues, host), tempfile.TemporaryDirectory() as scratch:
            port = free_port()
            env = {**environment(layout, Path(scratch), queues, port), "VMHA_API_WEBHOOK_SECRET": WEBHOOK_SECRET,
                   "VMHA_GATEWAY_WORKERS": "4", "VMHA_GATEWAY_CLAIM_TTL_SECONDS": "60",
                   "VMHA_GATEWAY_POLL_INTERVAL_SECONDS": "1"}
            url = f"http://127.0.0.1:{port}"
            with gateways(1, env, Path(scratch), url) as pids:
                zaqar = conn.session.get_endpoint(service_type="messaging", interface="public").rstrip("/")
                target = Target(url, conn.session.get_token(), zaqar, queues, host)
                fire(target, warmup, seed + 1, clients, Results())
                drain(helpers.zaqar(conn), queues, drain_seconds)
                letters = helpers.zaqar(conn).queue(queues["dead_letters"], auto_create=False)
                warm_letters = int(letters.stats["messages"]["total"])
                results.rss_mib = (usage(pids)[1], 0.0)
                began = time.perf_counter()
                fire(target, count, seed, clients, results)
                results.undecided = drain(helpers.zaqar(conn), queues, drain_seconds)
                results.seconds = time.perf_counter() - began
                results.rss_mib = (results.rss_mib[0], usage(pids)[1])
                results.dead_letters = int(letters.stats["messages"]["total"]) - warm_letters
            log = (Path(scratch) / "gateway-0.log").read_text(errors="replace")
            for line in _ERRORS:
                results.logged[line] = log.count(f'"message": "{line}"')
    finally:
        conn.close()
    return results


def document(results: Results, arguments: dict[str, Any]) -> dict[str, Any]:
    before, after = results.rss_mib
    return {"arguments": arguments, "seconds": round(results.seconds, 1),
            "statuses": {door: dict(sorted(seen.items())) for door, seen in results.statuses.items()},
            "gateway_5xx": results.server_errors, "undecided": results.undecided,
            "dead_letters": results.dead_letters, "logged_errors": dict(results.logged),
            "rss_mib": {"before": round(before, 1), "after": round(after, 1),
                        "growth_percent": round(100 * (after - before) / before, 1) if before else None}}


def print_results(results: Results, out: TextIO) -> None:
    for door, seen in results.statuses.items():
        whose = " (Zaqar's answers)" if door.startswith("queue") else ""
        print(f"{door:<20} {sum(seen.values()):>6}  " + "  ".join(f"{status}: {count}" for status, count in
                                                                  sorted(seen.items())) + whose, file=out)
    before, after = results.rss_mib
    print(f"gateway 5xx: {results.server_errors}; undecided messages: {sum(results.undecided.values())} "
          f"{results.undecided}; dead letters: {results.dead_letters}; {results.seconds:.0f} s", file=out)
    print(f"gateway RSS: {before:.0f} MiB before, {after:.0f} MiB after; logged errors: {dict(results.logged)}",
          file=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="inputs in all (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--warmup", type=int, default=500, help="uncounted inputs before the first RSS (500)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the gateway, queues and segment are removed
    results = measure(Layout.from_env(), args.count, args.seed, args.clients, warmup=args.warmup)
    print_results(results, sys.stdout)
    if args.json:
        args.json.write_text(json.dumps(document(results, vars(args) | {"json": str(args.json)}), indent=2) + "\n")


if __name__ == "__main__":
    main()
