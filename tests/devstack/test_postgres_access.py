"""Who gets into the embedded cluster: a SCRAM password for every role, the superuser through no TCP port at all, and
a cluster from before roles (trust, the app as superuser) upgraded in place without losing a row."""

from __future__ import annotations

import shutil
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from core.database_login import DatabaseLogin, password_file
from devstack.postgres import PostgresServer
from devstack.postgres_access import (
    APP_ROLE,
    LEGACY_SUPERUSER,
    OWNER_ROLE,
    SUPERUSER,
    scram_verifier,
    trusting,
    verifies,
)
from ledger import Ledger, create_pool
from ledger.migrations import SQL_DIR, apply_migrations, migrate
from tests.admission import admitted_video
from tests.conftest import TEST_KEY_RING, free_port


@pytest.fixture(autouse=True)
def no_ambient_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the passwords a test hands over: none from the environment nor ~/.pgpass."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


async def refused(dsn: str, password: str | None = None) -> str:
    """Why PostgreSQL turned the login away."""
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError) as refusal:
        conn = await asyncpg.connect(dsn, password=password)
        await conn.close()
    return str(refusal.value)


def test_a_verifier_is_its_password_s() -> None:
    verifier = scram_verifier("correct horse")
    assert verifies(verifier, "correct horse")
    assert not verifies(verifier, "correct horse ")
    assert not verifies(None, "correct horse") and not verifies("md5abc", "correct horse")


async def test_no_role_gets_in_without_its_password(pg_server: PostgresServer) -> None:
    port = pg_server.port
    for role in (APP_ROLE, OWNER_ROLE, SUPERUSER):
        tcp = f"postgresql://{role}@127.0.0.1:{port}/ytempire"
        assert "password authentication failed" in await refused(tcp)
        assert "password authentication failed" in await refused(tcp, "guessed")
    socket = f"postgresql://{APP_ROLE}@/ytempire?host={pg_server.data_dir}&port={port}"
    assert "password authentication failed" in await refused(socket)
    conn = await asyncpg.connect(socket, password=pg_server.app_login().password)
    assert await conn.fetchval("SELECT current_user") == APP_ROLE
    await conn.close()
    assert not trusting((pg_server.data_dir / "pg_hba.conf").read_text())
    assert (
        pg_server.sql("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust' OR error IS NOT NULL") == "0"
    )


def test_passwords_are_kept_owner_only(pg_server: PostgresServer) -> None:
    for role in (APP_ROLE, OWNER_ROLE):
        path = password_file(pg_server.secrets_dir, role)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text()) >= 40
    assert stat.S_IMODE(pg_server.secrets_dir.stat().st_mode) == 0o700


def test_a_second_start_changes_nothing(pg_server: PostgresServer) -> None:
    hba = pg_server.data_dir / "pg_hba.conf"
    written = hba.stat().st_mtime_ns
    assert pg_server.start() == []
    assert hba.stat().st_mtime_ns == written


@pytest.fixture
def legacy_server(tmp_path: Path) -> Iterator[PostgresServer]:
    """A cluster as the code before roles made it: trust for everyone, the app connecting as the bootstrap
    superuser `ytempire`."""
    server = PostgresServer(tmp_path / "cluster", free_port(), tmp_path / "secrets", fast_unsafe=True)
    initdb = [str(server.bin_dir / "initdb"), "-D", str(server.data_dir), "-U", LEGACY_SUPERUSER, "--auth=trust"]
    server._run(*initdb, "-E", "UTF8", "--locale=C", "--no-sync")
    server._launch()
    server.sql("CREATE DATABASE ytempire", role=LEGACY_SUPERUSER)
    try:
        yield server
    finally:
        server.stop()
        if not server.data_dir.is_relative_to(tmp_path):  # as root it lives under /var/tmp
            shutil.rmtree(server.data_dir, ignore_errors=True)


async def test_a_cluster_from_before_roles_is_upgraded_in_place(legacy_server: PostgresServer, tmp_path: Path) -> None:
    old_sql = tmp_path / "sql"
    old_sql.mkdir()
    for path in SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"):
        if path.name < "015":  # the migrations the code before roles had
            shutil.copy(path, old_sql)
    superuser = await create_pool(
        DatabaseLogin(f"postgresql://{LEGACY_SUPERUSER}@127.0.0.1:{legacy_server.port}/ytempire")
    )
    await apply_migrations(superuser, old_sql)
    video = await admitted_video(Ledger(superuser, TEST_KEY_RING), "a video from before roles")
    await superuser.execute(
        """INSERT INTO pipeline_events (video_id, kind, level, message, details, created_at) VALUES
           ($1, 'cost_warning', 'warning', 'at $2.50', '{"spent_usd": 2.5, "recorded_by": "run-1"}', $2),
           ($1, 'budget_approved', 'info', 'ops: approved', '{}', $2 + interval '1 minute'),
           (NULL, 'queue_depth', 'critical', 'depth 95', '{"depth": 95}', $2 - interval '20 days')""",
        uuid.UUID(video.video_id),
        datetime.now(UTC) - timedelta(days=3),
    )
    await superuser.close()
    legacy_server.stop()

    changes = legacy_server.start()

    assert changes[0].startswith(f"the superuser {LEGACY_SUPERUSER} is now {SUPERUSER}")
    assert "access rules: a SCRAM password for every role, trust for none" in changes
    assert any(change.startswith("database ytempire: ") and "handed to" in change for change in changes)
    assert not trusting((legacy_server.data_dir / "pg_hba.conf").read_text())
    assert "password authentication failed" in await refused(legacy_server.dsn)
    pool = await create_pool(legacy_server.app_login())
    try:
        later = sorted(p.name for p in SQL_DIR.glob("[0-9][0-9][0-9]_*.sql") if p.name >= "015")
        assert await migrate(legacy_server.owner_login(), pool) == later
        ledger = Ledger(pool, TEST_KEY_RING)
        row = await ledger.get_video(video.video_id)
        assert row is not None and row.channel_id == video.channel_id and row.status == "queued"
        # pipeline_events folded into events, each row once, its day's partition made; alerts still once.
        assert await pool.fetchval("SELECT to_regclass('pipeline_events')") is None
        folded = await ledger.video_events(video.video_id)
        assert [(e["kind"], e["message"], e["details"]) for e in folded] == [
            ("cost_warning", "at $2.50", {"spent_usd": 2.5}),
            ("budget_approved", "ops: approved", {}),
        ]
        [depth] = await ledger.events("queue_depth")
        assert (depth["level"], depth["message"], depth["details"]) == ("critical", "depth 95", {"depth": 95})
        assert await ledger.record_video_alert_once(video.video_id, "cost_warning", "run-1")
        assert not await ledger.record_video_alert_once(video.video_id, "cost_warning", "run-2")
        kind_index = "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_events_kind'"
        assert "public.events USING btree (kind, occurred_at)" in await pool.fetchval(kind_index)
        powers = "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        assert await pool.fetchval(powers) is False
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        not_owned = (
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relowner <> $1::regrole"
        )
        assert await pool.fetchval(not_owned, OWNER_ROLE) == 0
        bootstrap = "SELECT rolname, rolsuper FROM pg_roles WHERE oid = 10"
        assert tuple(await pool.fetchrow(bootstrap)) == (SUPERUSER, True)
    finally:
        await pool.close()

    legacy_server.stop()
    assert legacy_server.start() == []
    pool = await create_pool(legacy_server.app_login())
    try:
        assert await migrate(legacy_server.owner_login(), pool) == []
        assert await Ledger(pool, TEST_KEY_RING).get_video(video.video_id) == row
    finally:
        await pool.close()
