-- Cost control: a video's own budget, and cost alerts recorded once per video and kind (a retried activity
-- that records the same alert again is a no-op).
ALTER TABLE video_queue ADD COLUMN IF NOT EXISTS cost_cap DECIMAL(10,2);
CREATE UNIQUE INDEX IF NOT EXISTS uq_events_video_cost_alert ON pipeline_events(video_id, kind)
    WHERE kind IN ('cost_warning', 'cost_critical');
