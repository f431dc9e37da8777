-- How the uploaded videos perform, as YouTube reports it (collected by the Schedules of workflows/youtube_collection).

-- The Data API's lifetime counters of a video, read by the hourly run scheduled for `read_at`, and what they grew by since the
-- reading before (`since`; NULL for the first reading, whose deltas are everything since the upload). A missed hour
-- is part of the next reading's delta: lifetime counters cannot be read for a past hour.
CREATE TABLE IF NOT EXISTS youtube_video_stats (
    youtube_video_id TEXT NOT NULL,
    read_at          TIMESTAMPTZ NOT NULL,  -- the scheduled time of the run that read them
    video_id         UUID NOT NULL,
    channel_id       UUID NOT NULL,
    views            BIGINT NOT NULL,
    likes            BIGINT NOT NULL,
    comments         BIGINT NOT NULL,
    views_delta      BIGINT NOT NULL,
    likes_delta      BIGINT NOT NULL,
    comments_delta   BIGINT NOT NULL,
    since            TIMESTAMPTZ,
    collected_at     TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (youtube_video_id, read_at)
);
CREATE INDEX IF NOT EXISTS idx_youtube_video_stats_channel ON youtube_video_stats (channel_id, read_at);
CREATE INDEX IF NOT EXISTS idx_youtube_video_stats_video ON youtube_video_stats (video_id, read_at);

-- The Analytics API's day of a video. Its recent days are collected again until they settle, each time replacing
-- the row. estimated_revenue_usd is NULL where the channel's credentials do not allow revenue.
CREATE TABLE IF NOT EXISTS youtube_video_days (
    youtube_video_id      TEXT NOT NULL,
    day                   DATE NOT NULL,
    video_id              UUID NOT NULL,
    channel_id            UUID NOT NULL,
    views                 BIGINT NOT NULL,
    watch_minutes         DOUBLE PRECISION NOT NULL,
    average_view_seconds  DOUBLE PRECISION NOT NULL,
    shares                BIGINT NOT NULL,
    subscribers_gained    BIGINT NOT NULL,
    estimated_revenue_usd NUMERIC(14, 4),
    collected_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (youtube_video_id, day)
);
CREATE INDEX IF NOT EXISTS idx_youtube_video_days_channel ON youtube_video_days (channel_id, day);
CREATE INDEX IF NOT EXISTS idx_youtube_video_days_video ON youtube_video_days (video_id, day);

-- One row per scheduled run of a channel's collection: what it read, or why it could not.
CREATE TABLE IF NOT EXISTS youtube_collection_runs (
    channel_id    UUID NOT NULL,
    api           TEXT NOT NULL CHECK (api IN ('data', 'analytics')),
    scheduled_for TIMESTAMPTZ NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('ok', 'no_videos', 'auth_failed', 'quota_exhausted')),
    videos        INTEGER NOT NULL DEFAULT 0,
    rows_written  INTEGER NOT NULL DEFAULT 0,
    quota_units   INTEGER NOT NULL DEFAULT 0,
    first_day     DATE,
    last_day      DATE,
    revenue       BOOLEAN,
    detail        TEXT NOT NULL DEFAULT '',
    finished_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (channel_id, api, scheduled_for)
);
CREATE INDEX IF NOT EXISTS idx_youtube_collection_runs_latest ON youtube_collection_runs (channel_id, api, finished_at);

-- The uploads a collection reads: the upload stage books the YouTube id with its cost row.
CREATE INDEX IF NOT EXISTS idx_costs_youtube_uploads ON pipeline_costs ((metadata ->> 'youtube_video_id'))
    WHERE stage = 'upload_preparation' AND metadata ? 'youtube_video_id';
