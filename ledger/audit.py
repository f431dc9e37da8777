"""`audit_log`: who did what through the API, when, from where, with what outcome. Rows are only ever added."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.text import storable_json
from ledger.tables import Table


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    client: str
    outcome: int
    detail: dict[str, Any]


class AuditLog(Table):
    async def record_audit(
        self, actor: str, action: str, target: str | None, client: str, outcome: int, detail: dict[str, Any]
    ) -> None:
        await self._pool.execute(
            """INSERT INTO audit_log (actor, action, target, client, outcome, detail)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb)""",
            actor,
            action,
            target,
            client,
            outcome,
            json.dumps(storable_json(detail)),
        )

    async def forget_audit_entries_past_retention(self) -> int:
        """Remove the entries the retention lets go (a year old: `sql/015_audit_retention.sql`); how many."""
        return int(await self._pool.fetchval("SELECT forget_audit_entries_past_retention()"))

    async def audit_entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; `before_id` is the last id of the previous page."""
        conditions: list[str] = ["TRUE"]
        args: list[object] = []
        for column, value, operator in (
            ("actor", actor, "="),
            ("action", action, "="),
            ("target", target, "="),
            ("at", since, ">="),
            ("at", until, "<"),
            ("id", before_id, "<"),
        ):
            if value is not None:
                args.append(value)
                conditions.append(f"{column} {operator} ${len(args)}")
        args.append(limit)
        rows = await self._pool.fetch(
            f"SELECT * FROM audit_log WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ${len(args)}",
            *args,
        )
        return [
            AuditEntry(
                id=r["id"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                target=r["target"],
                client=r["client"],
                outcome=r["outcome"],
                detail=json.loads(r["detail"]),
            )
            for r in rows
        ]
