-- Who did what, when, from where, with what outcome: one row per mutating API call (and so per signal, update,
-- cancel or start the API sends Temporal). Append-only: a trigger refuses every UPDATE and TRUNCATE, and a DELETE
-- of anything younger than a year (the stated retention; older rows may be pruned).
CREATE TABLE IF NOT EXISTS audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    actor     TEXT NOT NULL,           -- `api_key:n8n`, `user:alice`, `anonymous`
    action    TEXT NOT NULL,           -- `POST /pipeline/cancel/{video_id}`
    target    TEXT,                    -- the video id, when the call names one
    client    TEXT NOT NULL,           -- the client's address
    outcome   INTEGER NOT NULL,        -- the HTTP status answered
    detail    JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS idx_audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_audit_log_actor ON audit_log (actor, id DESC);
CREATE INDEX IF NOT EXISTS idx_audit_log_target ON audit_log (target, id DESC) WHERE target IS NOT NULL;

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < NOW() - INTERVAL '1 year' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS trg_audit_log_append_only ON audit_log;
CREATE TRIGGER trg_audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS trg_audit_log_no_truncate ON audit_log;
CREATE TRIGGER trg_audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
