-- Every event of the pipeline and of the tools that post to /events, one row each, appended and never changed;
-- partitioned by the UTC day it happened (events_pYYYYMMDD), so retention drops whole days. A day's partition is
-- made ahead by the events maintenance schedule, or when a batch first needs it (ensure_event_partitions).
CREATE TABLE IF NOT EXISTS events (
    event_id         UUID NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    kind             TEXT NOT NULL,           -- `stage_finished`, `upload_completed`, `n8n.workflow_run`, ...
    source           TEXT NOT NULL,           -- `pipeline`, or the principal that posted it: `api_key:n8n`
    level            TEXT NOT NULL DEFAULT 'info',
    video_id         UUID,
    channel_id       UUID,
    stage            TEXT,
    service          TEXT,
    duration_seconds DOUBLE PRECISION,
    cost_usd         NUMERIC(14, 6),
    details          JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
-- Rows arrive in time order, so a BRIN index over time is a few pages per day where a B-tree would be gigabytes.
CREATE INDEX IF NOT EXISTS idx_events_occurred_brin ON events USING brin (occurred_at);
CREATE INDEX IF NOT EXISTS idx_events_video ON events (video_id, occurred_at) WHERE video_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_events_kind ON events (kind, occurred_at);

-- The partitions of the days from `first_day` to `last_day` (UTC), each with its own unique index on the event id:
-- a partitioned table's unique keys must hold its partition key, so an event sent again with another time would
-- slip past the primary key; inside its day it cannot. Runs as the owner (the app's role creates no tables).
CREATE OR REPLACE FUNCTION ensure_event_partitions(first_day DATE, last_day DATE) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    day DATE;
    name TEXT;
    created INTEGER := 0;
BEGIN
    IF last_day - first_day > 400 THEN
        RAISE EXCEPTION 'ensure_event_partitions: % days asked at once (at most 400)', last_day - first_day;
    END IF;
    day := first_day;
    WHILE day <= last_day LOOP
        name := 'events_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass('public.' || name) IS NULL THEN
            -- Two sessions may both find it missing: one creates it under the lock, the other sees it then.
            PERFORM pg_advisory_xact_lock(7233016, (day - DATE '2000-01-01'));
            IF to_regclass('public.' || name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE public.%I PARTITION OF public.events FOR VALUES FROM (%L) TO (%L)',
                    name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
                EXECUTE format('CREATE UNIQUE INDEX %I ON public.%I (event_id)', name || '_event_id', name);
                created := created + 1;
            END IF;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION ensure_event_partitions(DATE, DATE) FROM PUBLIC;

-- Every partition of a day before `keep_from` dropped (retention): the days dropped. The app's role calls it, so
-- it never drops the last seven days, whatever it is asked.
CREATE OR REPLACE FUNCTION drop_event_partitions_before(keep_from DATE) RETURNS SETOF DATE
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part RECORD;
    day DATE;
BEGIN
    IF keep_from > (NOW() AT TIME ZONE 'UTC')::date - 7 THEN
        RAISE EXCEPTION 'drop_event_partitions_before: % would drop events of the last seven days', keep_from;
    END IF;
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.events'::regclass AND c.relname ~ '^events_p[0-9]{8}$'
        ORDER BY c.relname
    LOOP
        day := to_date(substr(part.relname, 9), 'YYYYMMDD');
        IF day < keep_from THEN
            EXECUTE format('DROP TABLE public.%I', part.relname);
            RETURN NEXT day;
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION drop_event_partitions_before(DATE) FROM PUBLIC;

SELECT ensure_event_partitions((NOW() AT TIME ZONE 'UTC')::date - 1, (NOW() AT TIME ZONE 'UTC')::date + 7);
