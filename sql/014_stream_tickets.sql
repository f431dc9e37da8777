-- A browser cannot set headers on a WebSocket: it asks POST /auth/stream-ticket (with its token) for a ticket that
-- opens one stream within a minute, once. Only the SHA-256 of the ticket's secret is kept.
CREATE TABLE IF NOT EXISTS stream_tickets (
    id            TEXT PRIMARY KEY,
    secret_sha256 BYTEA NOT NULL,
    principal     JSONB NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_stream_tickets_expiry ON stream_tickets (expires_at);
