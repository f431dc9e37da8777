"""What the app's role may do with the tables the owner role owns: read and write rows, add to the audit log and
the events but never change or remove one (sql/015_audit_retention.sql and sql/016_events.sql remove the expired
ones), read the migrations applied, nothing more. The owner grants it after migrating; tables of later migrations
are granted by default."""

from __future__ import annotations

import asyncpg

_GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {app}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app}",
    "REVOKE UPDATE, DELETE ON audit_log FROM {app}",
    "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {app}",
    "GRANT EXECUTE ON FUNCTION forget_audit_entries_past_retention() TO {app}",
    "REVOKE UPDATE, DELETE ON events FROM {app}",
    "GRANT EXECUTE ON FUNCTION ensure_event_partitions(DATE, DATE) TO {app}",
    "GRANT EXECUTE ON FUNCTION drop_event_partitions_before(DATE) TO {app}",
    "GRANT EXECUTE ON FUNCTION ensure_rollup_partitions(DATE, DATE) TO {app}",
    "GRANT EXECUTE ON FUNCTION drop_rollup_partitions_before(DATE) TO {app}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {app}",
)


async def granted(conn: asyncpg.Connection, app_role: str) -> bool:
    """Whether `app_role` got its grants (they come all together)."""
    return bool(await conn.fetchval("SELECT has_table_privilege($1, 'schema_migrations', 'SELECT')", app_role))


async def grant_app_role(conn: asyncpg.Connection, app_role: str) -> None:
    """Give `app_role` what the app needs on the tables `conn`'s role owns, and on those it will create."""
    app = await conn.fetchval("SELECT quote_ident($1)", app_role)
    async with conn.transaction():
        for statement in _GRANTS:
            await conn.execute(statement.format(app=app))
