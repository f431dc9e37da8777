"""`provider_quota`: units of a provider's daily quota used, shared by every worker."""

from __future__ import annotations

from datetime import date

import asyncpg

from ledger.tables import Table


class ProviderQuota(Table):
    async def reserve_quota(self, service: str, day: date, units: int, limit: int) -> bool:
        """Add `units` to `service`'s quota use on `day` unless that would pass `limit`; True when reserved.

        One statement, so concurrent reservations on many workers can never overshoot the limit together.
        """
        row = await self._pool.fetchval(
            """INSERT INTO provider_quota (service, day, units)
               SELECT $1::text, $2::date, $3::bigint WHERE $3::bigint <= $4::bigint
               ON CONFLICT (service, day)
               DO UPDATE SET units = provider_quota.units + EXCLUDED.units, updated_at = NOW()
               WHERE provider_quota.units + EXCLUDED.units <= $4::bigint
               RETURNING units""",
            service,
            day,
            units,
            limit,
        )
        return row is not None

    async def quota_used(self, service: str, day: date) -> int:
        value = await self._pool.fetchval(
            "SELECT units FROM provider_quota WHERE service = $1 AND day = $2", service, day
        )
        return int(value or 0)


async def quota_used_on(pool: asyncpg.Pool, day: date) -> dict[str, int]:
    """Units each quota bucket has used on `day` (a Pacific day for YouTube's)."""
    rows = await pool.fetch("SELECT service, units FROM provider_quota WHERE day = $1", day)
    return {r["service"]: int(r["units"]) for r in rows}
