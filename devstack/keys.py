"""`python -m devstack.keys {list,rotate,retire,reseal}`: the encryption key ring (core.encryption) of this install.

Rotating on one machine: `rotate` (a new key encrypts from the next start, the old ones still decrypt), restart the
stack (`make down && make up`), `reseal` (stored callback URLs move to the new key), and once Temporal keeps no
history sealed under the old key (the namespace's retention), `retire <id>`. With YTEMPIRE_ENCRYPTION_KEYS the ring
lives in your secret store: `rotate` prints the new ring to put there, and writes nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys

from core.encryption import KEY_FILE_NAME, KeyRing, KeyRingError, save_ring
from core.settings import Settings
from ledger import Ledger, create_pool


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _store(settings: Settings, ring: KeyRing) -> None:
    if settings.encryption_keys is not None:
        _say("YTEMPIRE_ENCRYPTION_KEYS is set: store this ring there (first key encrypts), then restart everything:")
        _say(ring.serialized().strip().replace("\n", ","))
        return
    path = settings.secrets_dir / KEY_FILE_NAME
    save_ring(path, ring)
    _say(f"saved {path} (0600); restart the stack so every process reads it")


async def _reseal(settings: Settings) -> int:
    pool = await create_pool(settings.app_database, max_size=2)
    try:
        return await Ledger(pool, settings.key_ring).reseal_request_secrets()
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the key ids, which one encrypts (never the keys)")
    commands.add_parser("rotate", help="a new key encrypts from the next start; the old ones still decrypt")
    retire = commands.add_parser(
        "retire", help="drop a key that no longer encrypts (what it sealed becomes unreadable)"
    )
    retire.add_argument("key_id")
    commands.add_parser("reseal", help="seal the secrets stored in PostgreSQL under the encrypting key")
    args = parser.parse_args(argv)
    settings = Settings()
    ring = settings.key_ring
    if args.command == "list":
        for number, key_id in enumerate(ring.ids):
            _say(f"{key_id}  {'encrypts and decrypts' if number == 0 else 'decrypts'}")
    elif args.command == "rotate":
        rotated = ring.rotated()
        _store(settings, rotated)
        _say(f"{rotated.active_id} encrypts from the next start; then run `python -m devstack.keys reseal`")
    elif args.command == "retire":
        try:
            _store(settings, ring.without(args.key_id))
        except KeyRingError as err:
            sys.stderr.write(f"error: {err}\n")
            return 2
    else:
        _say(f"resealed {asyncio.run(_reseal(settings))} stored videos under {ring.active_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
