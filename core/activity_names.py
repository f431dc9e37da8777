"""Activity names, written once: the `@activity.defn` decorators, the stage table and the workflows use these (the
core cannot import an activity, so it holds its name). They are part of every saved history: never rename one."""

from __future__ import annotations

GENERATE_SCRIPT = "generate_script"
SYNTHESIZE_AUDIO = "synthesize_audio"
COLLECT_MEDIA = "collect_media"
RENDER_VIDEO = "render_video"
VALIDATE_QUALITY = "validate_quality"
PREPARE_UPLOAD = "prepare_upload"

# The workflow's own bookkeeping and deliveries.
SET_VIDEO_STATUS = "set_video_status"
RECORD_COST_ALERT = "record_cost_alert"
FINALIZE_VIDEO = "finalize_video"
SCHEDULE_VIDEO_RETRY = "schedule_video_retry"
DELIVER_WEBHOOK = "deliver_webhook"
RECONCILE_VIDEOS = "reconcile_videos"
MAINTAIN_EVENT_PARTITIONS = "maintain_event_partitions"
COLLECT_YOUTUBE_STATISTICS = "collect_youtube_statistics"
COLLECT_YOUTUBE_REPORTS = "collect_youtube_reports"
ROLL_UP = "roll_up"
