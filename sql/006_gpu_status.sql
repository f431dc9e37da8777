-- GPU figures as last reported by each gpu worker (ytempire.gpu_status publishes its sampler's snapshot every 10 s),
-- so the API's /metrics can show every worker's GPUs. `host` names one worker process (hostname:metrics-port, or
-- hostname:pid<N> when its metrics port is off); each publication replaces that host's rows. A worker without a
-- usable GPU writes one row, gpu '-', available false and the reason. Readers ignore rows older than a minute, so a
-- dead worker's GPUs disappear on their own.
CREATE TABLE IF NOT EXISTS gpu_status (
    host TEXT NOT NULL,
    gpu TEXT NOT NULL,
    available BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    utilization_percent DOUBLE PRECISION NULL,
    memory_used_bytes BIGINT NULL,
    memory_total_bytes BIGINT NULL,
    encoder_sessions INT NULL,
    encoder_utilization_percent DOUBLE PRECISION NULL,
    sampled_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (host, gpu)
);
