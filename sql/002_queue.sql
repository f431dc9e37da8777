-- Queue management: idempotent enqueue, whole-video retries, per-attempt stage costs, alert events.
ALTER TABLE video_queue ADD COLUMN IF NOT EXISTS idempotency_key VARCHAR(200);
ALTER TABLE video_queue ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX IF NOT EXISTS uq_queue_idempotency ON video_queue(idempotency_key) WHERE idempotency_key IS NOT NULL;

-- A whole-video retry that re-runs a stage (a re-render after a rejected QA) pays for that run once more;
-- a stage retried inside one attempt (after a crash) still charges once.
ALTER TABLE pipeline_costs ADD COLUMN IF NOT EXISTS video_attempt INTEGER NOT NULL DEFAULT 1;
DROP INDEX IF EXISTS uq_costs_video_stage;
CREATE UNIQUE INDEX IF NOT EXISTS uq_costs_video_stage_attempt ON pipeline_costs(video_id, stage, video_attempt);

CREATE TABLE IF NOT EXISTS pipeline_events (
    id BIGSERIAL PRIMARY KEY,
    video_id UUID REFERENCES video_queue(id) ON DELETE CASCADE,
    kind VARCHAR(50) NOT NULL,
    level VARCHAR(10) NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
    message TEXT NOT NULL,
    details JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_events_kind ON pipeline_events(kind, created_at DESC);
