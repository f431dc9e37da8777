"""`python -m api.accounts`: people and API keys of this deployment (on the database YTEMPIRE_DATABASE_URL names).

    python -m api.accounts users create alice --role operator            # asks for the password
    printf '%s\\n' "$PASSWORD" | python -m api.accounts users create ci --role viewer --password-stdin
    python -m api.accounts users list | set-password NAME | disable NAME
    python -m api.accounts keys create n8n --role operator [--channel UUID ...] [--expires-days N]
        [--rate-per-minute N] [--daily-spend-usd N]
    python -m api.accounts keys list [--all] | rotate NAME | revoke ID-or-NAME

A new key is printed once, on stdout alone (`KEY=$(python -m api.accounts keys create ...)`); only its digest is
stored. `rotate` makes the next key of a name and keeps the previous one live for YTEMPIRE_API_KEY_ROTATION_GRACE_HOURS
(24), so clients move over without downtime; `revoke` ends a key (or every key of a name) at once.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from api.credentials import Passwords, new_api_key
from core.principals import Role
from core.settings import Settings
from ledger import Ledger, create_pool
from ledger.migrations import migrate
from ledger.principals import UsernameTaken


class AccountError(Exception):
    """A refusal to show the operator (exit status 1)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m api.accounts", description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)

    users = kinds.add_parser("users", help="people who sign in at POST /auth/token").add_subparsers(
        dest="action", required=True
    )
    create_user = users.add_parser("create")
    create_user.add_argument("username")
    create_user.add_argument("--role", type=Role, choices=list(Role), required=True)
    create_user.add_argument("--channel", type=UUID, action="append", help="limit to this channel (repeat)")
    create_user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    users.add_parser("list")
    set_password = users.add_parser("set-password")
    set_password.add_argument("username")
    set_password.add_argument("--password-stdin", action="store_true")
    users.add_parser("disable").add_argument("username")

    keys = kinds.add_parser("keys", help="API keys for machines: n8n, scripts, Prometheus").add_subparsers(
        dest="action", required=True
    )
    create_key = keys.add_parser("create")
    create_key.add_argument("name")
    create_key.add_argument("--role", type=Role, choices=list(Role), required=True)
    create_key.add_argument("--channel", type=UUID, action="append", help="limit to this channel (repeat)")
    create_key.add_argument("--expires-days", type=float, help="the key ends by itself after this many days")
    create_key.add_argument(
        "--rate-per-minute",
        type=int,
        help="requests a minute this key may make (default YTEMPIRE_RATE_LIMIT_PER_MINUTE)",
    )
    create_key.add_argument(
        "--daily-spend-usd",
        type=float,
        help="caps of the videos this key may queue a UTC day (default YTEMPIRE_DAILY_SPEND_LIMIT_PER_PRINCIPAL_USD)",
    )
    keys.add_parser("list").add_argument("--all", action="store_true", help="revoked and expired keys too")
    keys.add_parser("rotate").add_argument("name")
    keys.add_parser("revoke").add_argument("key", help="a key's id (the part after ytk_) or a name")
    return parser


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the passwords differ")
    return first


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scope(channels: frozenset[UUID] | None) -> str:
    return "all channels" if channels is None else ",".join(sorted(str(c) for c in channels))


async def run(args: argparse.Namespace, ledger: Ledger, settings: Settings) -> list[str]:
    """Carry out one command; the lines to print."""
    passwords = Passwords()
    if args.kind == "users":
        if args.action == "create":
            try:
                password_hash = passwords.hash(_password(args.password_stdin))
                user = await ledger.create_user(args.username, password_hash, args.role, args.channel)
            except (ValueError, UsernameTaken) as exc:
                raise AccountError(f"user not created: {exc}") from exc
            return [f"user {user.username} created ({user.role.value}, {_scope(user.channels)})"]
        if args.action == "list":
            return [
                f"{u.username}\t{u.role.value}\t{_scope(u.channels)}\tcreated {_when(u.created_at)}"
                + (f"\tdisabled {_when(u.disabled_at)}" if u.disabled_at else "")
                for u in await ledger.list_users()
            ]
        if args.action == "set-password":
            try:
                password_hash = passwords.hash(_password(args.password_stdin))
            except ValueError as exc:
                raise AccountError(str(exc)) from exc
            if not await ledger.set_password(args.username, password_hash):
                raise AccountError(f"no user {args.username}")
            return [f"password of {args.username} changed; their sessions are signed out"]
        if not await ledger.disable_user(args.username):
            raise AccountError(f"no user {args.username}")
        return [f"user {args.username} disabled; their sessions are signed out"]

    if args.action == "create":
        key = new_api_key()
        expires = None if args.expires_days is None else datetime.now(UTC) + timedelta(days=args.expires_days)
        if args.rate_per_minute is not None and args.rate_per_minute < 1:
            raise AccountError("--rate-per-minute must be at least 1")
        if args.daily_spend_usd is not None and args.daily_spend_usd <= 0:
            raise AccountError("--daily-spend-usd must be above 0")
        await ledger.create_key(
            key.id, args.name, key.sha256, args.role, args.channel, expires, args.rate_per_minute, args.daily_spend_usd
        )
        return [key.value]
    if args.action == "list":
        now = datetime.now(UTC)
        return [
            f"{k.id}\t{k.name}\t{k.role.value}\t{_scope(k.channels)}\tcreated {_when(k.created_at)}"
            f"\tlast used {_when(k.last_used_at)}\texpires {_when(k.expires_at)}"
            + ("" if k.live_at(now) else f"\tENDED {_when(k.revoked_at or k.expires_at)}")
            for k in await ledger.list_keys(include_ended=args.all)
        ]
    if args.action == "rotate":
        key = new_api_key()
        grace = timedelta(hours=settings.api_key_rotation_grace_hours)
        if await ledger.rotate_key(args.name, key.id, key.sha256, grace) is None:
            raise AccountError(f"no live key named {args.name}")
        return [key.value]
    if not (ended := await ledger.revoke_key(args.key)):
        raise AccountError(f"no live key with the id or name {args.key}")
    return [f"{ended} key(s) revoked"]


async def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    pool = await create_pool(settings.app_database, max_size=2)
    try:
        await migrate(settings.owner_database, pool)
        lines = await run(args, Ledger(pool, settings.key_ring), settings)
    except AccountError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        await pool.close()
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    if args.kind == "keys" and args.action in ("create", "rotate"):
        sys.stderr.write("the key above is shown once: store it now (only its digest is kept)\n")
    return 0


if __name__ == "__main__":
    code = asyncio.run(_main(None))
    sys.stdout.flush()
    os._exit(code)
