-- When a video's status (or whole-video attempt) last changed: the reconciler leaves alone a row changed within its
-- grace period (an admission or retry whose workflow start is still on its way).
ALTER TABLE video_queue ADD COLUMN IF NOT EXISTS status_changed_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

CREATE OR REPLACE FUNCTION video_queue_status_changed() RETURNS trigger AS $$
BEGIN
    NEW.status_changed_at := NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS trg_video_queue_status_changed ON video_queue;
CREATE TRIGGER trg_video_queue_status_changed
    BEFORE UPDATE ON video_queue
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.attempts IS DISTINCT FROM NEW.attempts)
    EXECUTE FUNCTION video_queue_status_changed();

CREATE INDEX IF NOT EXISTS idx_queue_unfinished ON video_queue(status_changed_at)
    WHERE status NOT IN ('completed', 'failed', 'cancelled');
