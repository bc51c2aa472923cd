"""Infrastructure from Debian packages, each a private instance: MariaDB, RabbitMQ, Redis, etcd."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from tests.cloud import procs
from tests.cloud.layout import HOST, JOURNAL_TEST_DATABASE, PASSWORD, Layout

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # the /usr/sbin wrappers switch to the rabbitmq user


def missing_packages() -> list[str]:
    """Debian packages of the infrastructure that are not installed (``.ci/run`` installs them)."""
    needed = {"mariadb-server": "mariadbd", "rabbitmq-server": "rabbitmqctl", "redis-server": "redis-server",
              "etcd-server": "etcd", "postgresql": str(_postgres_bin() / "postgres")}
    return [pkg for pkg, binary in needed.items()
            if shutil.which(binary) is None and not Path("/usr/sbin", binary).exists()]


# ---------------------------------------------------------------- MariaDB

def _mariadb_socket(layout: Layout) -> Path:
    return layout.run / "mariadb.sock"


def mariadb_sql(layout: Layout, sql: str) -> None:
    """Run SQL as the instance's root user (unix socket, no password)."""
    procs.run(["mariadb", "--no-defaults", f"--socket={_mariadb_socket(layout)}", "-uroot"],
              input_text=sql, log=layout.log / "mariadb-sql.log")


def start_mariadb(layout: Layout) -> None:
    datadir = layout.data / "mariadb"
    if not (datadir / "mysql").is_dir():
        datadir.mkdir(parents=True, exist_ok=True)
        procs.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
                   "--auth-root-authentication-method=socket", "--skip-test-db"],
                  log=layout.log / "mariadb-install.log")
    procs.start(layout, "mariadb", [
        "mariadbd", "--no-defaults", f"--datadir={datadir}", "--user=root",
        f"--port={layout.ports['mariadb']}", f"--bind-address={HOST}", f"--socket={_mariadb_socket(layout)}",
        f"--pid-file={datadir / 'mariadbd.pid'}", "--skip-name-resolve", "--max-connections=2000",
        "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin",
    ])
    ping = ["mariadb-admin", "--no-defaults", f"--socket={_mariadb_socket(layout)}", "-uroot", "ping"]
    if not procs.wait_until(lambda: subprocess.run(ping, capture_output=True, check=False).returncode == 0,
                            60, 0.3):
        raise procs.StartError(f"mariadb did not start; see {procs.logfile(layout, 'mariadb')}")
    mariadb_sql(layout, "".join(
        f"CREATE USER IF NOT EXISTS 'os'@'{h}' IDENTIFIED BY '{PASSWORD}';"
        f"GRANT ALL PRIVILEGES ON *.* TO 'os'@'{h}';" for h in ("127.0.0.1", "localhost")
    ) + "FLUSH PRIVILEGES;")


def create_databases(layout: Layout, names: list[str]) -> None:
    mariadb_sql(layout, "".join(f"CREATE DATABASE IF NOT EXISTS {n} CHARACTER SET utf8mb4;" for n in names))


# ---------------------------------------------------------------- PostgreSQL (journal tests)

def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return versions[-1] if versions else Path("/usr/lib/postgresql/missing/bin")


def _as_postgres(*argv: str) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` system user the package creates."""
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]


def start_postgresql(layout: Layout) -> None:
    datadir, sockets = layout.data / "postgresql", layout.data / "postgresql-sockets"
    for path in (datadir, sockets):
        path.mkdir(parents=True, exist_ok=True)
        shutil.chown(path, "postgres", "postgres")
    if not (datadir / "PG_VERSION").exists():
        procs.run(_as_postgres(str(_postgres_bin() / "initdb"), "-D", str(datadir), "-U", "postgres",
                               "--auth=trust", "-E", "UTF8"), log=layout.log / "postgresql-initdb.log")
    port = str(layout.ports["postgresql"])
    procs.start(layout, "postgresql", _as_postgres(
        str(_postgres_bin() / "postgres"), "-D", str(datadir), "-p", port, "-k", str(sockets),
        "-c", f"listen_addresses={HOST}", "-c", "fsync=off"))
    ready = ["pg_isready", "-h", HOST, "-p", port, "-q"]
    if not procs.wait_until(lambda: subprocess.run(ready, check=False).returncode == 0, 60, 0.3):
        raise procs.StartError(f"postgresql did not start; see {procs.logfile(layout, 'postgresql')}")
    procs.run([*_psql(layout), "-c", f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vmha') THEN "
                                     f"CREATE ROLE vmha LOGIN PASSWORD '{PASSWORD}'; END IF; END $$;"])
    create_postgresql_database(layout, JOURNAL_TEST_DATABASE)


def _psql(layout: Layout) -> list[str]:
    return ["psql", "-h", HOST, "-p", str(layout.ports["postgresql"]), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]


def create_postgresql_database(layout: Layout, name: str) -> str:
    """Create the PostgreSQL database ``name`` owned by vmha unless it exists; return its SQLAlchemy URL."""
    exists = subprocess.run([*_psql(layout), "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                            capture_output=True, text=True, check=False).stdout.strip()
    if exists != "1":
        procs.run([*_psql(layout), "-c", f"CREATE DATABASE {name} OWNER vmha"])
    return f"postgresql+psycopg://vmha:{PASSWORD}@{HOST}:{layout.ports['postgresql']}/{name}"


def drop_postgresql_database(layout: Layout, name: str) -> None:
    procs.run([*_psql(layout), "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


# ---------------------------------------------------------------- RabbitMQ

def _rabbit_env(layout: Layout) -> dict[str, str]:
    base = layout.data / "rabbitmq"
    return {
        "HOME": str(base),  # its Erlang cookie lives here, apart from any system-wide node
        "RABBITMQ_NODENAME": layout.rabbit_node,
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(layout.ports["rabbitmq"]),
        "RABBITMQ_DIST_PORT": str(layout.ports["rabbitmq_dist"]),
        "ERL_EPMD_PORT": str(layout.ports["epmd"]),
        "ERL_EPMD_ADDRESS": HOST,
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(layout.log / "rabbitmq"),
        "RABBITMQ_CONFIG_FILE": str(layout.etc / "rabbitmq" / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(layout.etc / "rabbitmq" / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(layout.data / "rabbitmq" / "beam.pid"),
    }


def rabbitmqctl(layout: Layout, *args: str) -> None:
    procs.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", layout.rabbit_node, *args], env=_rabbit_env(layout),
              log=layout.log / "rabbitmqctl.log")


def start_rabbitmq(layout: Layout) -> None:
    conf = layout.etc / "rabbitmq"
    conf.mkdir(parents=True, exist_ok=True)
    (layout.data / "rabbitmq").mkdir(parents=True, exist_ok=True)
    (conf / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = {HOST}:{layout.ports['rabbitmq']}\n"
        f"distribution.listener.interface = {HOST}\n"
        "loopback_users = none\n"
    )
    (conf / "enabled_plugins").write_text("[].\n")
    procs.start(layout, "rabbitmq", [str(RABBIT_BIN / "rabbitmq-server")], env=_rabbit_env(layout))
    rabbitmqctl(layout, "--timeout", "120", "wait", str(layout.data / "rabbitmq" / "beam.pid"))
    try:
        rabbitmqctl(layout, "add_user", "openstack", PASSWORD)
    except procs.StartError as error:
        if "already exists" not in str(error):
            raise
    rabbitmqctl(layout, "set_permissions", "openstack", ".*", ".*", ".*")


def stop_rabbitmq(layout: Layout) -> None:
    procs.stop(layout, "rabbitmq", grace=20)
    subprocess.run(["epmd", "-port", str(layout.ports["epmd"]), "-kill"], capture_output=True, check=False,
                   env={"ERL_EPMD_PORT": str(layout.ports["epmd"]), "PATH": "/usr/bin:/bin"})


def purge_notification_queues(layout: Layout) -> None:
    """Drop the backlog of Nova notifications so Ceilometer does not replay old events into Aodh."""
    for queue in ("notifications.info", "versioned_notifications.info"):
        with contextlib.suppress(procs.StartError):  # the queue does not exist yet
            rabbitmqctl(layout, "purge_queue", queue)


# ---------------------------------------------------------------- Redis and etcd

def start_redis(layout: Layout) -> None:
    data = layout.data / "redis"
    data.mkdir(parents=True, exist_ok=True)
    procs.start(layout, "redis", [
        "redis-server", "--bind", HOST, "--port", str(layout.ports["redis"]), "--dir", str(data),
        "--save", "", "--appendonly", "no", "--protected-mode", "no",
    ])
    ping = ["redis-cli", "-h", HOST, "-p", str(layout.ports["redis"]), "ping"]
    if not procs.wait_until(lambda: subprocess.run(ping, capture_output=True, check=False).returncode == 0,
                            30, 0.2):
        raise procs.StartError(f"redis did not start; see {procs.logfile(layout, 'redis')}")


def start_etcd(layout: Layout) -> None:
    peer = f"http://{HOST}:{layout.ports['etcd_peer']}"
    procs.start(layout, "etcd", [
        "etcd", "--name", "vmha", "--data-dir", str(layout.data / "etcd"),
        "--listen-client-urls", layout.etcd_url, "--advertise-client-urls", layout.etcd_url,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", f"vmha={peer}", "--log-level", "warn",
    ])
    procs.wait_http(layout, "etcd", layout.etcd_url + "/health", 60)


def start_all(layout: Layout) -> None:
    start_mariadb(layout)
    create_databases(layout, [JOURNAL_TEST_DATABASE])
    start_postgresql(layout)
    start_redis(layout)
    start_etcd(layout)
    start_rabbitmq(layout)


def stop_all(layout: Layout) -> None:
    stop_rabbitmq(layout)
    for name in ("etcd", "redis", "postgresql", "mariadb"):
        procs.stop(layout, name, grace=20)
