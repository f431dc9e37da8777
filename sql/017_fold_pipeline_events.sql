-- `events` becomes the one home of pipeline events: `pipeline_events` rows move into it (each keeping its time, an
-- id derived from its old serial id, and its message in details.message) and the table goes. Cost alerts were once
-- per video and kind through a unique index on it; a partitioned table's unique keys must include the day, so that
-- promise moves to a small table of its own.
CREATE TABLE IF NOT EXISTS video_cost_alerts (
    video_id UUID NOT NULL REFERENCES video_queue(id) ON DELETE CASCADE,
    kind VARCHAR(50) NOT NULL CHECK (kind IN ('cost_warning', 'cost_critical')),
    recorded_by TEXT,  -- the workflow run that recorded it: its own retried activity delivers the alert again
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (video_id, kind)
);

INSERT INTO video_cost_alerts (video_id, kind, recorded_by, recorded_at)
SELECT video_id, kind, details ->> 'recorded_by', created_at FROM pipeline_events
WHERE video_id IS NOT NULL AND kind IN ('cost_warning', 'cost_critical')
ON CONFLICT DO NOTHING;

SELECT ensure_event_partitions(day, day)
FROM (SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS day FROM pipeline_events) AS days;

INSERT INTO events (event_id, occurred_at, kind, source, level, video_id, channel_id, details)
SELECT md5('pipeline_events/' || p.id)::uuid, p.created_at, p.kind, 'pipeline', p.level, p.video_id, v.channel_id,
       (p.details - 'recorded_by') || jsonb_build_object('message', p.message)
FROM pipeline_events p LEFT JOIN video_queue v ON v.id = p.video_id
ON CONFLICT DO NOTHING;

DROP TABLE pipeline_events;

-- 016's kind index shared its name with pipeline_events' and so was skipped; with that table gone it can exist.
CREATE INDEX IF NOT EXISTS idx_events_kind ON events (kind, occurred_at);
