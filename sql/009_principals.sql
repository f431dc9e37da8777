-- Who may call the API: people (a password, argon2) and machines (API keys, stored as the SHA-256 of their secret:
-- a key is 256 random bits, so a slow hash would only slow every request). Roles: viewer < operator < admin.
CREATE TABLE IF NOT EXISTS api_users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 100),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    channels      UUID[],  -- NULL: every channel
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    disabled_at   TIMESTAMPTZ
);

-- A key is `ytk_<id>_<secret>`; `id` finds the row, the secret's digest proves it. Rotating a named key adds a row
-- with the same name: the old one stays live until its `expires_at` (the grace period) or a revoke.
CREATE TABLE IF NOT EXISTS api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_sha256 BYTEA NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    channels      UUID[],
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_used_at  TIMESTAMPTZ,
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_api_keys_name ON api_keys(name);

-- Refresh tokens are used once: each use revokes it and issues the next of its family; a used token presented again
-- (stolen and replayed) revokes the whole family.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    id            UUID PRIMARY KEY,
    family        UUID NOT NULL,
    user_id       UUID NOT NULL REFERENCES api_users(id) ON DELETE CASCADE,
    secret_sha256 BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_refresh_tokens_family ON refresh_tokens(family);
