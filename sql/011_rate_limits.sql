-- Requests per principal (or per client address, for sign-in) in fixed one-minute windows, shared by every API
-- process. UNLOGGED: counters need no crash safety, and skipping the WAL keeps a hit to one cheap upsert.
CREATE UNLOGGED TABLE IF NOT EXISTS api_rate_windows (
    bucket       TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- A key may have a limit of its own (a benchmark's, an n8n flow's); NULL: YTEMPIRE_RATE_LIMIT_PER_MINUTE.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS rate_per_minute INTEGER CHECK (rate_per_minute > 0);
