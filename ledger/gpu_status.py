"""`gpu_status`: each gpu worker's latest NVML figures, for the API's `/metrics`."""

from __future__ import annotations

from core.records import GpuSnapshot
from ledger.tables import Table

NO_GPU = "-"  # gpu_status.gpu of the one row a worker without a usable GPU writes
GPU_STATUS_KEEP_SECONDS = 86_400  # rows of workers gone for this long are deleted (readers ignore them after 60 s)


class GpuStatusTable(Table):
    async def save_gpu_status(self, host: str, snapshot: GpuSnapshot) -> None:
        """Replace `host`'s rows in gpu_status (sql/006) with the snapshot, in one transaction, stamped NOW().

        An unavailable snapshot (or one without readings) is one row, gpu '-', with the reason.
        """
        if snapshot.available and snapshot.readings:
            rows = [
                (
                    host,
                    r.gpu,
                    True,
                    snapshot.reason,
                    r.utilization_percent,
                    r.memory_used_bytes,
                    r.memory_total_bytes,
                    r.encoder_sessions,
                    r.encoder_utilization_percent,
                )
                for r in snapshot.readings
            ]
        else:
            rows = [(host, NO_GPU, False, snapshot.reason, None, None, None, None, None)]
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("DELETE FROM gpu_status WHERE host = $1", host)
                await conn.executemany(
                    """INSERT INTO gpu_status (host, gpu, available, reason, utilization_percent, memory_used_bytes,
                                               memory_total_bytes, encoder_sessions, encoder_utilization_percent)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                    rows,
                )
            # Housekeeping outside the transaction: workers that never came back (a pid in their host name).
            await conn.execute(
                "DELETE FROM gpu_status WHERE sampled_at < NOW() - make_interval(secs => $1::float8)",
                float(GPU_STATUS_KEEP_SECONDS),
            )

    async def clear_gpu_status(self, host: str) -> None:
        """Remove `host`'s rows (a gpu worker stopping cleanly), so its GPUs leave the API's /metrics at once."""
        await self._pool.execute("DELETE FROM gpu_status WHERE host = $1", host)
