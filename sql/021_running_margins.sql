-- Videos ranked by margin over a window read two rows per video instead of every day of the window: each daily
-- video rollup carries the video's margin through that day (a running sum in bucket order), so the margin over the
-- days [first, last] is the last day's running margin minus the first day's, less that day's own margin. Only
-- differences within one video's days are read, so the running sums survive the retention dropping older months.
-- NULL on hourly rows. Kept by ledger/rollups.py.
ALTER TABLE video_rollups ADD COLUMN IF NOT EXISTS margin_through_usd NUMERIC(16, 4);

UPDATE video_rollups r SET margin_through_usd = t.through
FROM (SELECT video_id, bucket, sum(margin_usd) OVER (PARTITION BY video_id ORDER BY bucket) AS through
      FROM video_rollups WHERE granularity = 'day') t
WHERE r.granularity = 'day' AND r.video_id = t.video_id AND r.bucket = t.bucket;

-- The first and last day each video has daily rollups on: which videos a window can hold, without reading it.
CREATE TABLE IF NOT EXISTS video_rollup_spans (
    video_id   UUID PRIMARY KEY,
    channel_id UUID NOT NULL,
    first_day  DATE NOT NULL,
    last_day   DATE NOT NULL
);

INSERT INTO video_rollup_spans (video_id, channel_id, first_day, last_day)
SELECT video_id, (array_agg(channel_id))[1], min(bucket AT TIME ZONE 'UTC')::date,
       max(bucket AT TIME ZONE 'UTC')::date
FROM video_rollups WHERE granularity = 'day' GROUP BY video_id
ON CONFLICT (video_id) DO NOTHING;
