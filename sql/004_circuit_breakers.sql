-- Circuit breaker state per external service, as last reported by a worker (for dashboards and GET /pipeline/metrics).
-- Each worker process keeps its own breakers; this table holds the latest transition any of them reported.
CREATE TABLE IF NOT EXISTS circuit_breakers (
    service VARCHAR(50) PRIMARY KEY,
    state VARCHAR(10) NOT NULL CHECK (state IN ('closed', 'half_open', 'open')),
    failures INT NOT NULL DEFAULT 0,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
