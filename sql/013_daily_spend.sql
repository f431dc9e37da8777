-- Who admitted each video (`api_key:n8n`, `user:alice`): a principal's daily spend limit counts its videos' caps.
ALTER TABLE video_queue ADD COLUMN IF NOT EXISTS admitted_by TEXT;
CREATE INDEX IF NOT EXISTS idx_queue_admitted_by_day ON video_queue (admitted_by, created_at) WHERE admitted_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_queue_channel_day ON video_queue (channel_id, created_at);

-- A key may carry a daily limit of its own (NULL: YTEMPIRE_DAILY_SPEND_LIMIT_PER_PRINCIPAL_USD).
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS daily_spend_limit_usd NUMERIC(12, 2) CHECK (daily_spend_limit_usd > 0);
