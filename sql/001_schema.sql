-- The spec's ledger (architecture-v3 "Database Schema"), plus:
--   * 'halted' in the status CHECK (a cost halt waits for an operator),
--   * video_queue.stage (where a processing video stands),
--   * pipeline_costs.stage with a unique (video_id, stage): a stage retried after a crash never charges twice.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE IF NOT EXISTS video_queue (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    channel_id UUID NOT NULL,

    priority INTEGER DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    status VARCHAR(20) DEFAULT 'queued',
    complexity VARCHAR(20) DEFAULT 'simple',
    stage VARCHAR(40),

    request_data JSONB NOT NULL,
    metadata JSONB DEFAULT '{}',

    estimated_cost DECIMAL(10,2) DEFAULT 2.50,
    actual_cost DECIMAL(10,2),
    cost_breakdown JSONB,

    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    processing_started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,

    processing_time_seconds INTEGER,
    retry_count INTEGER DEFAULT 0,
    error_log JSONB,

    CONSTRAINT valid_status CHECK (
        status IN ('queued', 'processing', 'completed', 'failed', 'cancelled', 'halted')
    ),
    CONSTRAINT valid_complexity CHECK (
        complexity IN ('simple', 'complex', 'premium')
    )
);

CREATE INDEX IF NOT EXISTS idx_queue_priority ON video_queue(status, priority DESC, created_at ASC);
CREATE INDEX IF NOT EXISTS idx_queue_channel ON video_queue(channel_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_queue_status ON video_queue(status) WHERE status IN ('queued', 'processing');
CREATE INDEX IF NOT EXISTS idx_queue_cost ON video_queue(actual_cost) WHERE actual_cost IS NOT NULL;

CREATE TABLE IF NOT EXISTS pipeline_costs (
    id BIGSERIAL PRIMARY KEY,
    video_id UUID REFERENCES video_queue(id),
    stage VARCHAR(40) NOT NULL,

    service VARCHAR(50) NOT NULL,
    operation VARCHAR(100) NOT NULL,

    amount DECIMAL(10,4) NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD',

    timestamp TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    metadata JSONB DEFAULT '{}',

    CONSTRAINT positive_amount CHECK (amount >= 0)
);

CREATE INDEX IF NOT EXISTS idx_costs_video ON pipeline_costs(video_id);
CREATE INDEX IF NOT EXISTS idx_costs_service ON pipeline_costs(service, timestamp DESC);
CREATE UNIQUE INDEX IF NOT EXISTS uq_costs_video_stage ON pipeline_costs(video_id, stage);
