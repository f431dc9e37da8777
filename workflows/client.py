"""The client side of the workflows: connect to Temporal, and address, feed and start a video's workflow; one place
for the API, scripts, tests and benchmarks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import Priority, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from core import search_attributes
from core.domain import CarriedBudget, StageResult, VideoRequest, VideoResult, VideoWorkflowInput, workflow_id
from core.reconciliation import ATTEMPT_MEMO_KEY
from core.records import VideoRow
from core.resume import resume_plan
from core.settings import Settings
from core.text import markdown_literal
from ledger import Ledger
from stages.cost_model import video_budget
from stages.music import music_problem
from stages.scripts import script_language_problem
from stages.speech import voice_problem
from workflows.connection import connect_options
from workflows.event_partitions import EventPartitionsWorkflow
from workflows.payload_codec import encrypting_converter
from workflows.reconciliation import ReconcileWorkflow
from workflows.rollups import RollupWorkflow
from workflows.video import VideoWorkflow
from workflows.youtube_collection import YouTubeReportsWorkflow, YouTubeStatsWorkflow

TOP_PRIORITY = 10
log = logging.getLogger(__name__)


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """The one place that connects to Temporal (address, namespace, data converter)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        runtime=runtime,
        data_converter=encrypting_converter(settings.key_ring),
        **connect_options(settings),
    )


def task_priority(request: VideoRequest) -> Priority:
    """Request priority 10 (most urgent) → priority_key 1 (runs first); one fairness bucket per channel."""
    return Priority(priority_key=TOP_PRIORITY + 1 - request.priority, fairness_key=request.channel_id)


def request_problem(settings: Settings, request: VideoRequest) -> tuple[str, str] | None:
    """Which field of `request` this deployment's providers cannot serve and why (a language its script writers do
    not write, a Piper voice or music it does not have), or None."""
    if problem := script_language_problem(settings, request):
        return "language", problem
    if problem := voice_problem(settings, request):
        return "voice", problem
    if problem := music_problem(settings, request):
        return "music", problem
    return None


def workflow_input(
    settings: Settings,
    request: VideoRequest,
    *,
    resume: dict[str, StageResult] | None = None,
    attempt: int = 1,
    carried: CarriedBudget | None = None,
    **overrides: float,
) -> VideoWorkflowInput:
    """The workflow input for `request`: its queues, artifact and outbox folders and heartbeat from settings."""
    return VideoWorkflowInput(
        request=request,
        queues=settings.task_queues,
        artifact_dir=str(settings.artifacts_dir / request.video_id),
        outbox_dir=str(settings.outbox_dir),
        render_heartbeat_timeout_seconds=overrides.get(
            "render_heartbeat_timeout_seconds", settings.render_heartbeat_timeout_seconds
        ),
        stage_heartbeat_timeout_seconds=overrides.get(
            "stage_heartbeat_timeout_seconds", settings.stage_heartbeat_timeout_seconds
        ),
        resume=resume or {},
        attempt=attempt,
        budget=video_budget(settings, request),
        video_attempts=settings.max_video_attempts if settings.automatic_video_retries else 1,
        retry_backoff_seconds=overrides.get("retry_backoff_seconds", settings.video_retry_backoff_seconds),
        carried=carried,
    )


async def start_video(
    client: Client,
    settings: Settings,
    request: VideoRequest,
    *,
    with_search_attributes: bool = True,
    **input_options: Any,
) -> WorkflowHandle[Any, VideoResult]:
    """Start `video-<id>` with its priority, fairness key, search attributes and UI summary. Idempotent: while a run
    is open, starting again returns it (a start whose reply was lost can be sent again)."""
    attempt = int(input_options.get("attempt", 1))
    return await client.start_workflow(
        VideoWorkflow.run,
        workflow_input(settings, request, **input_options),
        id=workflow_id(request.video_id),
        task_queue=settings.task_queue_pipeline,
        priority=task_priority(request),
        # A failed video may be retried as a whole (a new run, same id); anything else keeps its single run.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=(
            search_attributes.at_start(
                channel_id=request.channel_id, priority=request.priority, complexity=request.complexity
            )
            if with_search_attributes
            else None
        ),
        static_summary=f"{request.complexity} video: {markdown_literal(request.topic)}",
        static_details=(
            f"channel `{request.channel_id}` · priority {request.priority} · {request.orientation} · "
            f"{request.duration_seconds} s target"
        ),
        # The reconciler reads which whole-video attempt a run is (a retry recorded but never started is restarted).
        memo={"topic": request.topic, "channel_id": request.channel_id, ATTEMPT_MEMO_KEY: attempt},
    )


async def start_recorded(
    client: Client,
    settings: Settings,
    request: VideoRequest,
    *,
    resume: dict[str, StageResult] | None = None,
    attempt: int = 1,
    carried: CarriedBudget | None = None,
) -> bool:
    """Start a video (or whole-video attempt) the ledger has recorded: whether Temporal confirmed a run. Never raises
    for an unanswered start: the server may have started it all the same (its reply lost), so the ledger's row stays
    and the reconciler starts it if it is not running (start_video is idempotent)."""
    try:
        await start_video(client, settings, request, resume=resume or {}, attempt=attempt, carried=carried)
    except WorkflowAlreadyStartedError:
        return True  # a run of this id has closed without failing: nothing to start
    except (RPCError, TimeoutError) as err:
        log.warning("video %s attempt %d: Temporal did not confirm the start (%s)", request.video_id, attempt, err)
        return False
    return True


@dataclass(frozen=True)
class StartedAttempt:
    started: bool  # Temporal confirmed the run
    resume: dict[str, StageResult]  # the stages it reuses


async def start_recorded_attempt(client: Client, settings: Settings, ledger: Ledger, row: VideoRow) -> StartedAttempt:
    """start_recorded for the attempt a ledger row is at. A retry resumes after the stages that succeeded and
    inherits the whole video's budget: what every earlier attempt was billed (the ledger's sum) and the cap as
    operators raised it, with their approvals (asked of the last run; the configured cap if it cannot answer)."""
    if row.attempts == 1:
        return StartedAttempt(await start_recorded(client, settings, row.request), {})
    resume = resume_plan(await ledger.stage_costs(row.video_id), row.stage)
    carried = await carried_budget(client, settings, ledger, row)
    started = await start_recorded(client, settings, row.request, resume=resume, attempt=row.attempts, carried=carried)
    return StartedAttempt(started, resume)


async def carried_budget(client: Client, settings: Settings, ledger: Ledger, row: VideoRow) -> CarriedBudget:
    spent = await ledger.spent_usd(row.video_id)
    cap = video_budget(settings, row.request).cap_usd
    try:
        costs = await client.get_workflow_handle(workflow_id(row.video_id)).query(
            VideoWorkflow.costs, rpc_timeout=timedelta(seconds=10)
        )
    except (RPCError, WorkflowQueryFailedError, TimeoutError) as err:
        log.warning(
            "video %s: the last run's cap is unknown (%s); attempt %d starts at $%.2f",
            row.video_id,
            err,
            row.attempts,
            cap,
        )
        return CarriedBudget(spent, cap)
    return CarriedBudget(spent, max(cap, costs.cap_usd), list(costs.approvals))


RECONCILE_SCHEDULE_ID = "ytempire-reconciler"


def reconcile_schedule(settings: Settings) -> Schedule:
    return _every(
        ReconcileWorkflow.run,
        "ytempire-reconcile",
        settings,
        every=timedelta(seconds=settings.reconcile_interval_seconds),
        execution_timeout=timedelta(minutes=10),
    )


async def ensure_reconcile_schedule(
    client: Client, settings: Settings, schedule_id: str = RECONCILE_SCHEDULE_ID
) -> None:
    """Create the reconciler's Schedule, or bring an existing one to these settings (every pipeline worker calls
    this at start; the Schedule is one for the namespace)."""
    await _ensure_schedule(client, schedule_id, reconcile_schedule(settings))


EVENT_PARTITIONS_SCHEDULE_ID = "ytempire-event-partitions"
EVENT_PARTITIONS_INTERVAL = timedelta(hours=1)


def event_partitions_schedule(settings: Settings) -> Schedule:
    return _every(
        EventPartitionsWorkflow.run,
        "ytempire-event-partitions",
        settings,
        every=EVENT_PARTITIONS_INTERVAL,
        execution_timeout=timedelta(minutes=30),
    )


def _every(
    run: Any,
    workflow_id: str,
    settings: Settings,
    *,
    every: timedelta,
    execution_timeout: timedelta,
    args: Sequence[Any] = (),
    catchup_window: timedelta | None = None,
    offset: timedelta = timedelta(0),
) -> Schedule:
    """A run of `run` on the pipeline queue every `every`; a run still going when the next is due skips that one."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            run,
            args=args,
            id=workflow_id,
            task_queue=settings.task_queue_pipeline,
            execution_timeout=execution_timeout,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every, offset=offset)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup_window or timedelta(days=365)),
    )


ROLLUP_SCHEDULE_IDS = {"hour": "ytempire-rollups-hourly", "day": "ytempire-rollups-daily"}


def rollup_schedules(settings: Settings) -> dict[str, Schedule]:
    """The hourly rollup at 5 past each hour, the daily one at 01:30 UTC (after the night's report collection has
    begun; its window reaches back over the days YouTube still revises)."""
    return {
        ROLLUP_SCHEDULE_IDS["hour"]: _every(
            RollupWorkflow.run,
            "ytempire-rollups-hourly",
            settings,
            every=timedelta(hours=1),
            offset=timedelta(minutes=5),
            execution_timeout=timedelta(minutes=50),
            args=["hour"],
            catchup_window=timedelta(hours=1),
        ),
        ROLLUP_SCHEDULE_IDS["day"]: _every(
            RollupWorkflow.run,
            "ytempire-rollups-daily",
            settings,
            every=timedelta(days=1),
            offset=timedelta(hours=1, minutes=30),
            execution_timeout=timedelta(hours=2),
            args=["day"],
            catchup_window=timedelta(days=1),
        ),
    }


async def ensure_rollup_schedules(client: Client, settings: Settings) -> None:
    for schedule_id, schedule in rollup_schedules(settings).items():
        await _ensure_schedule(client, schedule_id, schedule)


def youtube_stats_schedule_id(channel_id: str) -> str:
    return f"ytempire-youtube-stats-{channel_id}"


def youtube_reports_schedule_id(channel_id: str) -> str:
    return f"ytempire-youtube-reports-{channel_id}"


def youtube_collection_schedules(settings: Settings, channel_id: str) -> dict[str, Schedule]:
    """A channel's two collection Schedules by id. After an outage only the latest missed run of each is caught up:
    the next reading's growth covers the missed hours, and a report run collects every day since the last one."""
    stats_every = timedelta(seconds=settings.youtube_stats_interval_seconds)
    reports_every = timedelta(seconds=settings.youtube_reports_interval_seconds)
    return {
        youtube_stats_schedule_id(channel_id): _every(
            YouTubeStatsWorkflow.run,
            f"ytempire-youtube-stats-{channel_id}",
            settings,
            every=stats_every,
            execution_timeout=timedelta(minutes=50),
            args=[channel_id],
            catchup_window=stats_every,
        ),
        youtube_reports_schedule_id(channel_id): _every(
            YouTubeReportsWorkflow.run,
            f"ytempire-youtube-reports-{channel_id}",
            settings,
            every=reports_every,
            execution_timeout=timedelta(hours=6),
            args=[channel_id],
            catchup_window=reports_every,
        ),
    }


async def youtube_channels(settings: Settings, ledger: Ledger) -> list[str]:
    """The channels whose videos are collected: those with credentials of their own, and, when the default
    credentials are set, every channel this pipeline uploaded to."""
    channels = set(settings.youtube_channel_credentials)
    if settings.youtube_credentials_file is not None:
        channels.update(v.channel_id for v in await ledger.uploaded_videos())
    return sorted(channels)


async def ensure_youtube_collection_schedules(client: Client, settings: Settings, channel_ids: Sequence[str]) -> None:
    """Create (or bring to these settings) the collection Schedules of each channel."""
    for channel_id in channel_ids:
        for schedule_id, schedule in youtube_collection_schedules(settings, channel_id).items():
            await _ensure_schedule(client, schedule_id, schedule)


async def ensure_event_partitions_schedule(
    client: Client, settings: Settings, schedule_id: str = EVENT_PARTITIONS_SCHEDULE_ID
) -> None:
    """Create the events table's upkeep Schedule (partitions ahead, retention), or bring it to these settings."""
    await _ensure_schedule(client, schedule_id, event_partitions_schedule(settings))


async def _ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def updated(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(updated)
