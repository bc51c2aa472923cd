"""``vmha db upgrade`` and ``vmha db purge``: the journal's schema and its size, by the operator.

``upgrade`` is, with the gateway's start, the only way the schema changes: safe while gateways run and when
several upgrades start at once (``vmha.journal.upgrade`` holds a database-wide lock). ``purge`` deletes the
recoveries that ended more than ``--older-than`` days ago and refuses a schema that is not current. Neither
prints the database password.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path

from vmha.contracts import load_settings
from vmha.contracts.secrets import masked_url
from vmha.journal import create_journal_engine, upgrade, utc_now
from vmha.journal.upkeep import purge, schema_state


def _url(args: argparse.Namespace) -> tuple[str, float]:
    settings = load_settings(args.settings)
    return args.journal_url or settings.journal_url, settings.timeouts.journal_seconds


def _upgrade(args: argparse.Namespace) -> int:
    url, timeout = _url(args)
    engine = create_journal_engine(url, timeout)
    try:
        before = schema_state(engine).current
        upgrade(engine)
        after = schema_state(engine)
    finally:
        engine.dispose()
    change = "already at" if before == after.current else f"upgraded from {before or 'an empty database'} to"
    print(f"journal {masked_url(url)}: {change} revision {after.current}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    url, timeout = _url(args)
    engine = create_journal_engine(url, timeout)
    cutoff = utc_now() - timedelta(days=args.older_than)
    try:
        purged = purge(engine, cutoff)
    finally:
        engine.dispose()
    print(f"journal {masked_url(url)}: purged what ended before {cutoff:%Y-%m-%d %H:%M:%S} UTC")
    rows = (("notifications", purged.notifications), ("their steps, progress and fences", purged.related),
            ("function executions", purged.executions), ("audit rows", purged.audit))
    for what, count in rows:
        print(f"  {count:>8}  {what}")
    return 0


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not days > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of days must be more than 0")
    return days


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="the journal's schema and size").add_subparsers(dest="action", required=True)
    upgrade_command = db.add_parser("upgrade", help="migrate the journal schema to this vmha's (the gateway does "
                                    "it at start too; clients never do)")
    purge_command = db.add_parser("purge", help="delete recoveries and function executions that ended long ago")
    purge_command.add_argument("--older-than", type=_days, required=True, metavar="DAYS",
                               help="what ended more than DAYS days ago (fractions allowed)")
    for command, run in ((upgrade_command, _upgrade), (purge_command, _purge)):
        command.add_argument("--settings", type=Path, default=os.environ.get("VMHA_SETTINGS_FILE") or None,
                             help="settings file (its journal_url); env VMHA_SETTINGS_FILE")
        command.add_argument("--journal-url", default=None, help="the journal (default: the settings')")
        command.set_defaults(run=run)
