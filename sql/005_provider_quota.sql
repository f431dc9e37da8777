-- Daily quota of a cloud provider, shared by every worker: units (or calls) spent per bucket and provider day.
-- YouTube's day runs midnight to midnight Pacific time; the caller passes that date. Rows are reserved before
-- each call (atomically, never past the limit), so concurrent uploads on many workers cannot overshoot it.
CREATE TABLE IF NOT EXISTS provider_quota (
    service VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    units BIGINT NOT NULL DEFAULT 0 CHECK (units >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (service, day)
);
