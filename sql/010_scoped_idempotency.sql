-- An idempotency key belongs to the principal that sent it (`api_key:n8n`, `user:alice`): another principal's equal
-- key is another request. Rows admitted before this version have no scope and still answer any principal's resend.
ALTER TABLE video_queue ADD COLUMN IF NOT EXISTS idempotency_scope TEXT;
DROP INDEX IF EXISTS uq_queue_idempotency;
CREATE UNIQUE INDEX IF NOT EXISTS uq_queue_idempotency_scoped
    ON video_queue (COALESCE(idempotency_scope, ''), idempotency_key) WHERE idempotency_key IS NOT NULL;
