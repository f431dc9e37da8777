-- GET /analytics reads a channel's services and stages by its own leading columns.
CREATE INDEX IF NOT EXISTS idx_service_rollups_channel ON service_rollups (channel_id, granularity, bucket);
CREATE INDEX IF NOT EXISTS idx_stage_rollups_channel ON stage_rollups (channel_id, granularity, bucket);
