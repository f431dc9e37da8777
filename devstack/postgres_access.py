"""Who may reach the embedded cluster, as what: a SCRAM password for every role (kept in owner-only files), a role
that owns the tables (migrations), a role for the app (rows only: `ledger/privileges.py`), the superuser for the
cluster's own OS user alone; and the upgrade of a cluster made before roles, where the app was the superuser and
every local user got in by trust."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from pathlib import Path
from typing import Protocol

from core.database_login import password_file
from core.secret_files import secret_file

APP_ROLE = "ytempire"
OWNER_ROLE = "owner_ytempire"
SUPERUSER = "postgres"
# Before roles, initdb made the app's role the bootstrap superuser. That role can never lose SUPERUSER (PostgreSQL 16
# refuses), so it is renamed and its name goes to a new app role; a session cannot rename its own role, hence a
# second superuser for that moment.
LEGACY_SUPERUSER = "ytempire"
_RENAMER = "ytempire_upgrade"
_SCRAM_ITERATIONS = 4096  # PostgreSQL's own default
_POWERS = "rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls"


class Cluster(Protocol):
    secrets_dir: Path

    def sql(self, script: str, *, role: str = SUPERUSER, database: str = "postgres") -> str:
        """Run `script` as `role`; its output, unaligned. Raises when it fails."""
        ...

    def logs_in(self, role: str) -> bool: ...


def access_rules(os_user: str) -> dict[str, str]:
    """pg_hba.conf and pg_ident.conf. The first line that matches a connection decides; none trusts."""
    hba = f"""# Written by devstack/postgres_access.py, and rewritten when it differs.
# The superuser: only the OS user running the cluster, through the socket in its data folder (pg_ident.conf).
local   all   {SUPERUSER}   peer map=cluster
# Every other role: its password, SCRAM-SHA-256.
local   all   all   scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""
    return {"pg_hba.conf": hba, "pg_ident.conf": f"cluster   {os_user}   {SUPERUSER}\n"}


def trusting(hba: str) -> bool:
    """Whether pg_hba.conf lets a connection in without a password (the clusters made before roles)."""
    return re.search(r"^[ \t]*[^#\s].*\strust\b", hba, re.MULTILINE) is not None


def role_password(secrets_dir: Path, role: str) -> str:
    """The role's password, made (256 random bits) into an owner-only file on first use."""
    return secret_file(password_file(secrets_dir, role), secrets.token_urlsafe(32).encode()).decode().strip()


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = _SCRAM_ITERATIONS) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802 keys). Sent instead of the password, which so
    never reaches the server, its log or a statement that fails."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = [base64.b64encode(part).decode() for part in (salt, stored_key, server_key)]
    return f"SCRAM-SHA-256${iterations}:{b64[0]}${b64[1]}:{b64[2]}"


def verifies(verifier: str | None, password: str) -> bool:
    """Whether the stored `verifier` is `password`'s."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$.*", verifier or "")
    if match is None:
        return False
    expected = scram_verifier(password, base64.b64decode(match[2]), int(match[1]))
    return hmac.compare_digest(expected, verifier or "")


def retire_legacy_superuser(cluster: Cluster) -> list[str]:
    """Rename a cluster's bootstrap superuser `ytempire` to `postgres`. Runs while the old rules still let the
    socket in by trust (the only way in as that role); what it changed."""
    if cluster.logs_in(SUPERUSER):
        return []
    cluster.sql(f"DROP ROLE IF EXISTS {_RENAMER}; CREATE ROLE {_RENAMER} LOGIN SUPERUSER", role=LEGACY_SUPERUSER)
    cluster.sql(f"ALTER ROLE {LEGACY_SUPERUSER} RENAME TO {SUPERUSER}", role=_RENAMER)
    cluster.sql(f"DROP ROLE {_RENAMER}", role=SUPERUSER)
    return [f"the superuser {LEGACY_SUPERUSER} is now {SUPERUSER}: the app gets a role of its own"]


def ensure_roles(cluster: Cluster) -> list[str]:
    """The owner and the app role: each may log in with its password and do nothing else the cluster grants (no
    superuser, no new databases or roles); what it changed."""
    found = json.loads(
        cluster.sql(
            "SELECT coalesce(json_object_agg(rolname, json_build_object("
            f"'password', rolpassword, 'login', rolcanlogin, 'powers', {_POWERS})), '{{}}') "
            f"FROM pg_authid WHERE rolname IN ('{OWNER_ROLE}', '{APP_ROLE}', '{_RENAMER}')"
        )
    )
    statements: list[str] = []
    changes: list[str] = []
    for role in (OWNER_ROLE, APP_ROLE):
        password = role_password(cluster.secrets_dir, role)
        if (state := found.get(role)) is None:
            statements.append(f"CREATE ROLE {role} LOGIN PASSWORD '{scram_verifier(password)}'")
            changes.append(f"role {role} created")
            continue
        if state["powers"] or not state["login"]:
            statements.append(f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
            changes.append(f"role {role}: may log in, nothing more")
        if not verifies(state["password"], password):
            statements.append(f"ALTER ROLE {role} PASSWORD '{scram_verifier(password)}'")
            changes.append(f"role {role}: password from {password_file(cluster.secrets_dir, role)}")
    if _RENAMER in found:  # an upgrade stopped halfway
        statements.append(f"DROP ROLE {_RENAMER}")
        changes.append(f"role {_RENAMER} dropped")
    if statements:
        cluster.sql("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;")
    return changes


# Everything in the schema that the owner role does not own yet, as the statements that hand it over (the sequences of
# serial columns and the indexes follow their table; what an extension made stays the extension's).
_NOT_OWNED = f"""
SELECT statement FROM (
    SELECT 0 AS rank, 'ALTER SCHEMA public OWNER TO {OWNER_ROLE}' AS statement
    FROM pg_namespace
    WHERE nspname = 'public' AND pg_get_userbyid(nspowner) NOT IN ('{OWNER_ROLE}', 'pg_database_owner')
    UNION ALL
    SELECT 1, 'REVOKE CREATE ON SCHEMA public FROM PUBLIC' WHERE has_schema_privilege('{APP_ROLE}', 'public', 'CREATE')
    UNION ALL
    SELECT 2, format('ALTER %s %s OWNER TO {OWNER_ROLE}',
        CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                       WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.oid::regclass)
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('a', 'i', 'e'))
    UNION ALL
    SELECT 3, format('ALTER ROUTINE %s OWNER TO {OWNER_ROLE}', p.oid::regprocedure)
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
      AND pg_get_userbyid(p.proowner) <> '{OWNER_ROLE}'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e')
    UNION ALL
    SELECT 4, format('ALTER TYPE %s OWNER TO {OWNER_ROLE}', t.oid::regtype)
    FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r')
      AND pg_get_userbyid(t.typowner) <> '{OWNER_ROLE}'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                      AND d.deptype = 'e')
) handed ORDER BY rank, statement
"""


def ensure_database(cluster: Cluster, name: str) -> list[str]:
    """Database `name`, owned with everything in it by the owner role; what it changed."""
    changes: list[str] = []
    owner = cluster.sql(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'")
    if not owner:
        cluster.sql(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
        changes.append(f"database {name} created")
    elif owner != OWNER_ROLE:
        cluster.sql(f'ALTER DATABASE "{name}" OWNER TO {OWNER_ROLE}')
        changes.append(f"database {name}: owned by {OWNER_ROLE}")
    if statements := cluster.sql(_NOT_OWNED, database=name).splitlines():
        cluster.sql("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;", database=name)
        changes.append(f"database {name}: {len(statements)} objects handed to {OWNER_ROLE}")
    return changes
