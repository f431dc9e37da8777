"""The app's role reads and writes rows and nothing more: no programs, no schema changes, the audit log append-only;
the tables the owner creates later are its to use at once."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from ledger import Ledger


async def test_the_app_role_runs_no_programs_and_changes_no_schema(pg_pool: asyncpg.Pool) -> None:
    powers = (
        "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert await pg_pool.fetchval(powers) is False
    for statement in (
        "COPY (SELECT 1) TO PROGRAM 'true'",
        "CREATE TABLE intruder (id INT)",
        "CREATE SCHEMA intruder",
        "ALTER TABLE video_queue ADD COLUMN intruder INT",
        "DROP TABLE video_cost_alerts",
        "CREATE FUNCTION intruder() RETURNS INT LANGUAGE sql AS 'SELECT 1'",
        "INSERT INTO schema_migrations (name) VALUES ('999_intruder.sql')",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pg_pool.execute(statement)


async def test_the_app_role_adds_and_reads_audit_entries_but_changes_none(
    ledger: Ledger, pg_pool: asyncpg.Pool
) -> None:
    actor = f"api_key:privileges-{uuid.uuid4().hex[:6]}"
    await ledger.record_audit(actor, "POST /pipeline/queue", None, "127.0.0.1", 201, {})
    assert [e.actor for e in await ledger.audit_entries(actor=actor)] == [actor]
    for statement in (
        "UPDATE audit_log SET actor = 'someone else' WHERE actor = $1",
        "DELETE FROM audit_log WHERE actor = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pg_pool.execute(statement, actor)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pg_pool.execute("TRUNCATE audit_log")
    assert await pg_pool.fetchval("SELECT count(*) FROM audit_log WHERE actor = $1", actor) == 1


async def test_a_table_the_owner_creates_later_is_the_app_role_s_to_use(
    owner_pool: asyncpg.Pool, pg_pool: asyncpg.Pool
) -> None:
    table = f"later_{uuid.uuid4().hex[:8]}"
    await owner_pool.execute(f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, note TEXT)")
    try:
        row_id = await pg_pool.fetchval(f"INSERT INTO {table} (note) VALUES ('new') RETURNING id")
        await pg_pool.execute(f"UPDATE {table} SET note = 'changed' WHERE id = $1", row_id)
        assert await pg_pool.fetchval(f"SELECT note FROM {table} WHERE id = $1", row_id) == "changed"
        assert await pg_pool.execute(f"DELETE FROM {table} WHERE id = $1", row_id) == "DELETE 1"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pg_pool.execute(f"DROP TABLE {table}")
    finally:
        await owner_pool.execute(f"DROP TABLE {table}")
