"""Benchmark of the gateway API with 1 and 3 `vmha gateway` processes sharing one port (SO_REUSEPORT).

For each process count: a no-op function invoked through the Lambda Invoke API by boto3 (SigV4, one
execution recorded per call), and notification intake through Masakari's ``POST /v1/notifications``
(Keystone token, segment lookup in Nova, duplicate check, Zaqar post, journal record). Each scenario sends
``--requests`` calls from ``--clients`` threads and prints latency p50/p99, throughput, and the gateways'
footprint (RSS summed over the processes, CPU in % of one core) under that load and idle before it
(``--idle`` seconds with nothing to do: Zaqar polls only). The processes use
the runtime's test step table (``ok`` is the no-op) and a fresh SQLite journal, queues and segment (an
aggregate whose only members are made-up reserved hosts), all removed afterwards.
Run: `.venv/bin/python -m tests.bench.gateway [--requests 400] [--clients 8]`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import openstack
import requests

from tests.bench.monitors import cpu_seconds
from tests.cloud import catalog, helpers
from tests.cloud.layout import REGION, Layout
from tests.cloud.procs import wait_until
from vmha.contracts import StepMessage

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "AKIABENCH", "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(layout: Layout, work: Path, queues: dict[str, str], port: int) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml),
            "OS_CLOUD": "vmha-admin", "VMHA_JOURNAL_URL": f"sqlite:///{work / 'journal.db'}",
            "VMHA_DEDUP_WINDOW_SECONDS": "0", "VMHA_QUEUES_NOTIFICATIONS": queues["notifications"],
            "VMHA_QUEUES_STEPS": queues["steps"], "VMHA_QUEUES_DEAD_LETTERS": queues["dead_letters"],
            "VMHA_GATEWAY_WORKERS": "2", "VMHA_GATEWAY_LISTEN_PORT": str(port),
            "VMHA_STEPS": "tests.runtime_steps:STEPS",
            "VMHA_INTAKE": "tests.runtime_steps:intake"}


def lambda_key(conn: Any) -> None:
    """KEY/SECRET as a Keystone EC2 credential of ``conn``'s user, the Lambda calls' signing key (kept between
    runs: Keystone refuses a second credential with the same access key)."""
    blob = json.dumps({"access": KEY, "secret": SECRET})
    with suppress(openstack.exceptions.ConflictException):
        conn.identity.create_credential(type="ec2", user_id=conn.current_user_id, project_id=conn.current_project_id,
                                        blob=blob)


@contextmanager
def gateways(count: int, env: dict[str, str], work: Path, url: str) -> Iterator[list[int]]:
    """``count`` gateway processes on one port, ready when each answered /healthz (or 60 s passed)."""
    logs = [(work / f"gateway-{n}.log").open("ab") for n in range(count)]
    processes = [subprocess.Popen([str(Path(sys.executable).parent / "vmha"), "gateway"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        for process in processes:
            started = wait_until(lambda p=process: _listening(p, url), 60, 0.2)  # type: ignore[misc]
            assert started and process.poll() is None, f"a gateway did not start: see {work}"
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process, log in zip(processes, logs, strict=True):
            process.wait(60)
            log.close()


def _listening(process: subprocess.Popen[bytes], url: str) -> bool:
    if process.poll() is not None:
        return True
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting
        return False


def usage(pids: Sequence[int]) -> tuple[float, float]:
    """CPU seconds used so far and resident memory in MiB, summed over the processes."""
    rss_kib = sum(int(line.split()[1]) for pid in pids for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS:"))
    return sum(cpu_seconds(pid) for pid in pids), rss_kib / 1024


def footprint(pids: Sequence[int], began: float, cpu_before: float) -> str:
    """RSS now and the CPU share (of one core) used since ``began`` (perf_counter) and ``cpu_before``."""
    cpu, rss = usage(pids)
    return f"RSS {rss:.0f} MiB, CPU {100 * (cpu - cpu_before) / (time.perf_counter() - began):.1f} %"


def measure(name: str, call: Callable[[int], bool], total: int, clients: int, pids: Sequence[int]) -> None:
    """Run ``call(i)`` for i < total from ``clients`` threads; print latency percentiles, throughput and
    the gateways' footprint under that load."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        for index in counter:
            started = time.perf_counter()
            ok = call(index)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                failures[0] += not ok

    began, (cpu_before, _) = time.perf_counter(), usage(pids)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    wall, load = time.perf_counter() - began, footprint(pids, began, cpu_before)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{name:<40} n={len(latencies):>4} failed={failures[0]:>3} p50={cuts[49] * 1000:7.1f} ms "
          f"p99={cuts[98] * 1000:7.1f} ms throughput={len(latencies) / wall:7.1f}/s; {load}", flush=True)


def lambda_call(url: str, event: dict[str, Any]) -> Callable[[int], bool]:
    local = threading.local()
    payload = json.dumps(event).encode()

    def call(_: int) -> bool:
        if not hasattr(local, "client"):
            local.client = boto3.client("lambda", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                                        aws_secret_access_key=SECRET,
                                        config=botocore.config.Config(retries={"max_attempts": 0}))
        answer = local.client.invoke(FunctionName="ok", Payload=payload)
        return bool(answer["StatusCode"] == 200 and "FunctionError" not in answer)
    return call


def intake_call(url: str, token: str, host: str) -> Callable[[int], bool]:
    def call(index: int) -> bool:
        payload = {"event": "STOPPED", "process_name": f"bench-{index}-{uuid.uuid4().hex}"}
        body: dict[str, Any] = {"notification": {"type": "PROCESS", "hostname": host, "payload": payload,
                                                 "generated_time": datetime.now(UTC).isoformat()}}
        answer = requests.post(url + "/v1/notifications", json=body, headers={"X-Auth-Token": token}, timeout=60)
        return answer.status_code == 202
    return call


def scenario(count: int, env: dict[str, str], work: Path, args: argparse.Namespace, *, conn: Any, host: str) -> None:
    url = f"http://127.0.0.1:{env['VMHA_GATEWAY_LISTEN_PORT']}"
    with gateways(count, env, work, url) as pids:
        began, (cpu_before, _) = time.perf_counter(), usage(pids)
        time.sleep(args.idle)
        print(f"{count} process(es): idle {args.idle:.0f} s: {footprint(pids, began, cpu_before)}", flush=True)
        token = conn.session.get_token()
        first = intake_call(url, token, host)
        assert first(-1), "the first notification was refused"
        listed = requests.get(url + "/v1/notifications?limit=1", headers={"X-Auth-Token": token}, timeout=60)
        nid = uuid.UUID(listed.json()["notifications"][0]["id"])
        event = StepMessage(nid, "ok", 1, ("ok",), 0, datetime.now(UTC) + timedelta(hours=1)).to_dict()
        measure(f"{count} process(es): lambda invoke no-op", lambda_call(url, event), args.requests, args.clients,
                pids)
        measure(f"{count} process(es): masakari notification intake", intake_call(url, token, host),
                args.requests, args.clients, pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle footprint before the load")
    args = parser.parse_args()
    layout = Layout.from_env()
    conn = catalog.connect(layout)
    lambda_key(conn)
    suffix = uuid.uuid4().hex[:8]
    host = f"bench-{suffix}"
    queues = {kind: f"bench-{suffix}-{kind}" for kind in ("notifications", "steps", "dead_letters")}
    aggregate = conn.compute.create_aggregate(name=f"vmha-bench-{suffix}")
    try:
        conn.compute.set_aggregate_metadata(aggregate, {"vmha:enabled": "false", "vmha:reserved_hosts": host})
        for count in (1, 3):
            with tempfile.TemporaryDirectory() as scratch:
                env = environment(layout, Path(scratch), queues, free_port())
                scenario(count, env, Path(scratch), args, conn=conn, host=host)
    finally:
        conn.compute.delete_aggregate(aggregate)
        client = helpers.zaqar(conn)
        for name in queues.values():
            client.queue(name, auto_create=False).delete()
        conn.close()


if __name__ == "__main__":
    main()
