-- What a failed stage attempt was still billed for (an OpenAI script rejected by the content checks, a Google TTS
-- request that succeeded before a later one failed): real money, so part of the video's cost, but not a stage's
-- result. One row per activity attempt: a retried bookkeeping call never charges twice.
CREATE TABLE IF NOT EXISTS pipeline_failed_charges (
    id BIGSERIAL PRIMARY KEY,
    video_id UUID NOT NULL REFERENCES video_queue(id) ON DELETE CASCADE,
    stage VARCHAR(40) NOT NULL,
    video_attempt INT NOT NULL DEFAULT 1,
    activity_attempt INT NOT NULL,
    service VARCHAR(50) NOT NULL,
    operation VARCHAR(100) NOT NULL,
    amount DECIMAL(10,4) NOT NULL CHECK (amount >= 0),
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (video_id, stage, video_attempt, activity_attempt)
);
CREATE INDEX IF NOT EXISTS idx_failed_charges_created ON pipeline_failed_charges(created_at);
