"""`pipeline_costs` (a stage's cost, once per success) and `pipeline_failed_charges` (what attempts that did not
succeed were billed, written ahead while they run); both roll up into the video's totals in `video_queue`."""

from __future__ import annotations

import json

from core.records import CostLine, CostRow
from ledger.tables import Table

# A video's totals: its stages' cost rows plus what failed attempts were billed (keys `stage:failed`).
_REFRESH_TOTALS_SQL = """
UPDATE video_queue v SET actual_cost = c.total, cost_breakdown = c.breakdown
FROM (SELECT COALESCE(sum(amount), 0) AS total, jsonb_object_agg(name, amount) AS breakdown
      FROM (SELECT stage || CASE WHEN video_attempt > 1 THEN '#' || video_attempt ELSE '' END AS name, amount
            FROM pipeline_costs WHERE video_id = $1
            UNION ALL
            SELECT stage || ':failed', sum(amount) FROM pipeline_failed_charges WHERE video_id = $1 GROUP BY stage
           ) lines) c
WHERE v.id = $1
"""


class CostLedger(Table):
    async def stage_medians(self, limit: int = 50) -> dict[str, float]:
        """Median measured wall seconds per stage over its most recent successful runs."""
        rows = await self._pool.fetch(
            """SELECT stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median
               FROM (SELECT stage, (metadata->>'seconds')::float AS seconds,
                            row_number() OVER (PARTITION BY stage ORDER BY id DESC) AS recent
                     FROM pipeline_costs WHERE metadata ? 'seconds') runs
               WHERE recent <= $1 GROUP BY stage""",
            limit,
        )
        return {r["stage"]: float(r["median"]) for r in rows}

    async def record_stage_cost(
        self, video_id: str, stage: str, cost: CostLine, video_attempt: int = 1, settles_attempt: int | None = None
    ) -> bool:
        """Write the stage's cost row once (a retry after a crash is a no-op) and refresh the video's totals. What
        the attempt keyed `settles_attempt` wrote ahead is part of `cost`: that row goes in the same transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO pipeline_costs (video_id, stage, service, operation, amount, metadata, video_attempt)
                   VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
                   ON CONFLICT (video_id, stage, video_attempt) DO NOTHING
                   RETURNING id""",
                video_id,
                stage,
                cost.service,
                cost.operation,
                round(cost.amount_usd, 4),
                json.dumps(cost.metadata),
                video_attempt,
            )
            if inserted is not None and settles_attempt is not None:
                await conn.execute(
                    """DELETE FROM pipeline_failed_charges
                       WHERE video_id = $1 AND stage = $2 AND video_attempt = $3 AND activity_attempt = $4""",
                    video_id,
                    stage,
                    video_attempt,
                    settles_attempt,
                )
            await conn.execute(_REFRESH_TOTALS_SQL, video_id)
        return inserted is not None

    async def record_failed_charge(
        self,
        video_id: str,
        stage: str,
        video_attempt: int,
        activity_attempt: int,
        cost: CostLine,
        *,
        replace: bool = True,
    ) -> float:
        """Record what an attempt was billed (in all, so far): one row per activity attempt, which each later report
        of the same attempt replaces (an attempt reports in order, from one worker: a call charged before it leaves
        goes down again when its answer says it billed less). Written ahead while the attempt runs and again when it
        fails; the row stays as a failed attempt's charge unless the attempt succeeds (`record_stage_cost` settles
        it). `replace=False`: only when the attempt has no row yet (a replayed report). Returns what this report
        changed."""
        async with self._pool.acquire() as conn, conn.transaction():
            added = await conn.fetchval(
                """WITH prior AS (
                       SELECT amount FROM pipeline_failed_charges
                       WHERE video_id = $1 AND stage = $2 AND video_attempt = $3 AND activity_attempt = $4)
                   INSERT INTO pipeline_failed_charges
                       (video_id, stage, video_attempt, activity_attempt, service, operation, amount, metadata)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
                   ON CONFLICT (video_id, stage, video_attempt, activity_attempt) DO UPDATE
                       SET amount = EXCLUDED.amount, service = EXCLUDED.service, operation = EXCLUDED.operation,
                           metadata = EXCLUDED.metadata
                       WHERE $9
                   RETURNING amount - COALESCE((SELECT amount FROM prior), 0)""",
                video_id,
                stage,
                video_attempt,
                activity_attempt,
                cost.service,
                cost.operation,
                round(cost.amount_usd, 4),
                json.dumps(cost.metadata),
                replace,
            )
            await conn.execute(_REFRESH_TOTALS_SQL, video_id)
        return float(added or 0.0)

    async def failed_charges_usd(self, video_id: str, stage: str, video_attempt: int, above_attempt: int = 0) -> float:
        """What the failed attempts of this stage (in this whole-video attempt, keyed above `above_attempt`: one
        execution of it) were billed."""
        total = await self._pool.fetchval(
            """SELECT COALESCE(sum(amount), 0) FROM pipeline_failed_charges
               WHERE video_id = $1 AND stage = $2 AND video_attempt = $3 AND activity_attempt > $4""",
            video_id,
            stage,
            video_attempt,
            above_attempt,
        )
        return float(total)

    async def stage_costs(self, video_id: str) -> list[CostRow]:
        return await self._cost_rows(
            """SELECT stage, service, operation, amount, video_attempt, metadata
               FROM pipeline_costs WHERE video_id = $1 ORDER BY id""",
            video_id,
        )

    async def recorded_stage(self, video_id: str, stage: str, video_attempt: int) -> CostRow | None:
        """The cost row this stage already has in this whole-video attempt (a success whose reply was lost)."""
        rows = await self._cost_rows(
            """SELECT stage, service, operation, amount, video_attempt, metadata
               FROM pipeline_costs WHERE video_id = $1 AND stage = $2 AND video_attempt = $3""",
            video_id,
            stage,
            video_attempt,
        )
        return rows[0] if rows else None

    async def _cost_rows(self, query: str, video_id: str, *args: object) -> list[CostRow]:
        rows = await self._pool.fetch(query, video_id, *args)
        return [
            CostRow(
                r["stage"],
                r["service"],
                r["operation"],
                float(r["amount"]),
                r["video_attempt"],
                json.loads(r["metadata"]) if r["metadata"] else {},
            )
            for r in rows
        ]

    async def failed_charges(self, video_id: str) -> list[CostRow]:
        """What failed attempts were billed, one row per activity attempt (metadata has `activity_attempt`)."""
        return await self._cost_rows(
            """SELECT stage, service, operation, amount, video_attempt,
                      jsonb_build_object('activity_attempt', activity_attempt)::text AS metadata
               FROM pipeline_failed_charges WHERE video_id = $1 ORDER BY id""",
            video_id,
        )
