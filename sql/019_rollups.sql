-- Hourly and daily aggregates, per video, channel, service and stage, computed from the ledger, the events and what
-- YouTube reported (ledger/rollups.py): a rollup run replaces every bucket of its window, so running it again over
-- the same inputs writes the same rows. Partitioned by month of the bucket, so the retention (a year by default)
-- drops whole months. margin_usd = revenue - cost, with unknown revenue counted as none.
CREATE TABLE IF NOT EXISTS video_rollups (
    granularity   TEXT NOT NULL CHECK (granularity IN ('hour', 'day')),
    bucket        TIMESTAMPTZ NOT NULL,
    video_id      UUID NOT NULL,
    channel_id    UUID NOT NULL,
    views         BIGINT NOT NULL,
    likes         BIGINT NOT NULL,
    comments      BIGINT NOT NULL,
    watch_minutes DOUBLE PRECISION NOT NULL,
    revenue_usd   NUMERIC(14, 4),           -- NULL: YouTube reported none (hours; channels without revenue access)
    cost_usd      NUMERIC(14, 4) NOT NULL,
    margin_usd    NUMERIC(14, 4) GENERATED ALWAYS AS (COALESCE(revenue_usd, 0) - cost_usd) STORED,
    PRIMARY KEY (granularity, bucket, video_id)
) PARTITION BY RANGE (bucket);
CREATE INDEX IF NOT EXISTS idx_video_rollups_video ON video_rollups (video_id, granularity, bucket);
CREATE INDEX IF NOT EXISTS idx_video_rollups_channel ON video_rollups (channel_id, granularity, bucket);

CREATE TABLE IF NOT EXISTS channel_rollups (
    granularity      TEXT NOT NULL CHECK (granularity IN ('hour', 'day')),
    bucket           TIMESTAMPTZ NOT NULL,
    channel_id       UUID NOT NULL,
    views            BIGINT NOT NULL,
    likes            BIGINT NOT NULL,
    comments         BIGINT NOT NULL,
    watch_minutes    DOUBLE PRECISION NOT NULL,
    revenue_usd      NUMERIC(14, 4),
    cost_usd         NUMERIC(14, 4) NOT NULL,
    margin_usd       NUMERIC(14, 4) GENERATED ALWAYS AS (COALESCE(revenue_usd, 0) - cost_usd) STORED,
    videos_completed INTEGER NOT NULL,
    videos_failed    INTEGER NOT NULL,
    PRIMARY KEY (granularity, bucket, channel_id)
) PARTITION BY RANGE (bucket);
CREATE INDEX IF NOT EXISTS idx_channel_rollups_channel ON channel_rollups (channel_id, granularity, bucket);

CREATE TABLE IF NOT EXISTS service_rollups (
    granularity TEXT NOT NULL CHECK (granularity IN ('hour', 'day')),
    bucket      TIMESTAMPTZ NOT NULL,
    channel_id  UUID NOT NULL,
    service     TEXT NOT NULL,
    charges     INTEGER NOT NULL,
    cost_usd    NUMERIC(14, 4) NOT NULL,
    PRIMARY KEY (granularity, bucket, channel_id, service)
) PARTITION BY RANGE (bucket);

CREATE TABLE IF NOT EXISTS stage_rollups (
    granularity TEXT NOT NULL CHECK (granularity IN ('hour', 'day')),
    bucket      TIMESTAMPTZ NOT NULL,
    channel_id  UUID NOT NULL,
    stage       TEXT NOT NULL,
    runs        INTEGER NOT NULL,
    p50_seconds DOUBLE PRECISION NOT NULL,
    p95_seconds DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (granularity, bucket, channel_id, stage)
) PARTITION BY RANGE (bucket);

-- What each rollup run covered: the next run starts no later than where the last one ended, so a missed run (the
-- stack down) is made up.
CREATE TABLE IF NOT EXISTS rollup_runs (
    granularity  TEXT NOT NULL CHECK (granularity IN ('hour', 'day')),
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    rows_written INTEGER NOT NULL,
    seconds      DOUBLE PRECISION NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (granularity, window_end, window_start)
);

-- The month partitions (`<table>_pYYYYMM`) of every rollup table from the month of `first_day` to that of
-- `last_day`. Runs as the owner (the app's role creates no tables).
CREATE OR REPLACE FUNCTION ensure_rollup_partitions(first_day DATE, last_day DATE) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    month DATE := date_trunc('month', first_day)::date;
    parent TEXT;
    name TEXT;
    created INTEGER := 0;
BEGIN
    IF last_day - first_day > 3700 THEN
        RAISE EXCEPTION 'ensure_rollup_partitions: % days asked at once (at most 3700)', last_day - first_day;
    END IF;
    WHILE month <= last_day LOOP
        FOREACH parent IN ARRAY ARRAY['video_rollups', 'channel_rollups', 'service_rollups', 'stage_rollups'] LOOP
            name := parent || '_p' || to_char(month, 'YYYYMM');
            IF to_regclass('public.' || name) IS NULL THEN
                PERFORM pg_advisory_xact_lock(7233019, (month - DATE '2000-01-01'));
                IF to_regclass('public.' || name) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)', name, parent,
                        (month::timestamp AT TIME ZONE 'UTC'),
                        ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
                    created := created + 1;
                END IF;
            END IF;
        END LOOP;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION ensure_rollup_partitions(DATE, DATE) FROM PUBLIC;

-- Every rollup month that ends on or before `keep_from` dropped (retention); the months dropped. Never one of the
-- last 90 days, whatever the app's role asks.
CREATE OR REPLACE FUNCTION drop_rollup_partitions_before(keep_from DATE) RETURNS SETOF DATE
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part RECORD;
    month DATE;
BEGIN
    IF keep_from > (NOW() AT TIME ZONE 'UTC')::date - 90 THEN
        RAISE EXCEPTION 'drop_rollup_partitions_before: % would drop aggregates of the last 90 days', keep_from;
    END IF;
    FOR part IN
        SELECT c.relname, p.relname AS parent FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('video_rollups', 'channel_rollups', 'service_rollups', 'stage_rollups')
          AND c.relname ~ '_p[0-9]{6}$'
        ORDER BY c.relname
    LOOP
        month := to_date(right(part.relname, 6), 'YYYYMM');
        IF (month + interval '1 month')::date <= keep_from THEN
            EXECUTE format('DROP TABLE public.%I', part.relname);
            IF part.parent = 'video_rollups' THEN
                RETURN NEXT month;
            END IF;
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION drop_rollup_partitions_before(DATE) FROM PUBLIC;

SELECT ensure_rollup_partitions((NOW() AT TIME ZONE 'UTC')::date - 31, (NOW() AT TIME ZONE 'UTC')::date + 62);

-- The rollups read the ledger's charges by time.
CREATE INDEX IF NOT EXISTS idx_costs_time ON pipeline_costs (timestamp);
