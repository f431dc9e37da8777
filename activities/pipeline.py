"""The non-render stage activities (pipeline task queue): script, speech, media, QA, upload preparation."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import pipeline_events
from activities.stage_runner import run_stage
from core import activity_names, cost_policy
from core.domain import (
    CostAlert,
    FinalizeInput,
    RetryPlan,
    StageInput,
    StageResult,
    VideoRetry,
    VideoStatusChange,
)
from core.errors import ErrorType, retry_worthwhile
from core.records import StageOutcome
from core.resume import resume_plan
from core.settings import Settings
from core.stage_table import STAGES
from engines.quality.rules import QualityExpectations
from engines.quality.validate import validate_media
from engines.script.writer import Script
from engines.speech.timeline import SpeechTimeline
from ledger import Ledger
from providers.context import ProviderContext
from stages import media, scripts, speech, upload
from telemetry.worker_metrics import WorkerMetrics


def _artifact_dir(inp: StageInput) -> Path:
    path = Path(inp.artifact_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _need(inp: StageInput, key: str) -> Path:
    """An artifact from an earlier stage; a missing one is a bug or lost disk, so say which."""
    if key not in inp.artifacts:
        raise ApplicationError(
            f"stage {inp.stage} needs artifact '{key}' from an earlier stage", type=ErrorType.MISSING_ARTIFACT
        )
    path = Path(inp.artifacts[key])
    if not path.exists():
        raise ApplicationError(f"artifact '{key}' is missing on disk: {path}", type=ErrorType.MISSING_ARTIFACT)
    return path


class PipelineActivities:
    """Activities for every stage but rendering; constructed once per worker with its settings and ledger."""

    def __init__(self, settings: Settings, ledger: Ledger, metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._ledger = ledger
        self._metrics = metrics
        self._providers = ProviderContext.for_worker(settings, metrics, ledger)

    async def _run(self, inp: StageInput, body: Callable[[], Awaitable[StageOutcome]]) -> StageResult:
        return await run_stage(
            self._ledger, inp, body, self._metrics, cost_policy.fixed_price(self._settings, inp.stage)
        )

    @activity.defn(name=activity_names.GENERATE_SCRIPT)
    async def generate_script(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            return await scripts.generate_script(self._providers, inp, _artifact_dir(inp) / "script.json")

        return await self._run(inp, body)

    @activity.defn(name=activity_names.SYNTHESIZE_AUDIO)
    async def synthesize_audio(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            script = Script.from_json(json.loads(_need(inp, "script").read_text()))
            return await speech.synthesize(self._providers, inp, script, _artifact_dir(inp))

        return await self._run(inp, body)

    @activity.defn(name=activity_names.COLLECT_MEDIA)
    async def collect_media(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            script = Script.from_json(json.loads(_need(inp, "script").read_text()))
            media_dir = _artifact_dir(inp) / "media"
            media_dir.mkdir(exist_ok=True)
            return await media.collect(self._providers, inp, script, media_dir)

        return await self._run(inp, body)

    @activity.defn(name=activity_names.VALIDATE_QUALITY)
    async def validate_quality(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            video = _need(inp, "video")
            timeline = SpeechTimeline.from_json(json.loads(_need(inp, "timeline").read_text()))
            width, height = inp.request.resolution
            report = await validate_media(
                video, QualityExpectations(duration=timeline.duration, width=width, height=height)
            )
            facts, signal, issues = report.facts, report.signal, report.issues
            assert facts is not None and signal is not None  # validate_media always measures both
            report_path = _artifact_dir(inp) / "qa.json"
            report_path.write_text(json.dumps(report.to_json(), indent=2))
            if issues:
                # A verdict on the same file cannot change on retry; a whole-video retry re-renders instead.
                raise ApplicationError(
                    "quality check failed: " + "; ".join(issue.message for issue in issues),
                    [{"code": issue.code, "message": issue.message} for issue in issues],
                    type=ErrorType.QUALITY_CHECK_FAILED,
                    non_retryable=True,
                )
            return StageOutcome(
                {"qa_report": str(report_path)},
                cost_policy.overhead(self._settings, "compute", "qa_probe"),
                {
                    "duration": round(facts.duration, 3),
                    "lufs": signal.integrated_lufs or 0.0,
                    "true_peak_dbtp": signal.true_peak_dbtp if signal.true_peak_dbtp is not None else 0.0,
                },
            )

        return await self._run(inp, body)

    @activity.defn(name=activity_names.PREPARE_UPLOAD)
    async def prepare_upload(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            script = Script.from_json(json.loads(_need(inp, "script").read_text()))
            return await upload.prepare_upload(
                self._providers, inp, _need(inp, "video"), script, _need(inp, "title_card")
            )

        return await self._run(inp, body)

    @activity.defn(name=activity_names.RECORD_COST_ALERT)
    async def record_cost_alert(self, alert: CostAlert) -> bool:
        """Ledger event, metric and log line for a cost alert, once per video and kind; True (deliver it) for the
        run that recorded it, retries of this activity included."""
        info = activity.info()
        once = alert.kind in cost_policy.ALERTS_ONCE_PER_VIDEO
        recorded = not once or await self._ledger.record_video_alert_once(
            alert.video_id, alert.kind, info.workflow_run_id
        )
        if recorded:
            event = pipeline_events.cost_alert(alert, info.workflow_run_id, info.activity_id)
            await self._ledger.record_events([event])
            self._metrics.cost_alerts.labels(alert.kind).inc()
            activity.logger.warning("%s: %s", alert.kind, alert.message)
        return recorded

    @activity.defn(name=activity_names.SET_VIDEO_STATUS)
    async def set_video_status(self, change: VideoStatusChange) -> None:
        """A cost halt, or the resumption after an approval (recorded with who and why)."""
        await self._ledger.set_status(change.video_id, change.status, change.stage)
        info = activity.info()
        await self._ledger.record_events(
            [pipeline_events.video_status_changed(change, info.workflow_run_id, info.activity_id)]
        )

    @activity.defn(name=activity_names.SCHEDULE_VIDEO_RETRY)
    async def schedule_video_retry(self, retry: VideoRetry) -> RetryPlan:
        """The ledger's side of an automatic whole-video retry: queued for the next attempt, the failure logged;
        returns what the attempt inherits, from the ledger (the one record of what was billed and booked)."""
        if await self._ledger.begin_automatic_retry(retry):
            self._metrics.video_retries.labels(retry.error_type).inc()
            activity.logger.warning(
                "video %s: attempt %d in %g s (%s failed: %s)",
                retry.video_id,
                retry.attempt,
                retry.delay_seconds,
                retry.stage,
                retry.error_type,
            )
        costs = await self._ledger.stage_costs(retry.video_id)
        if any(c.stage == retry.stage and c.video_attempt == retry.attempt - 1 for c in costs):
            # Booked, so it succeeded; only Temporal never heard. The attempt resumes after it.
            names = [spec.name for spec in STAGES]
            through = names.index(retry.stage)
            resume = {k: v for k, v in resume_plan(costs, None).items() if names.index(k) <= through}
        else:
            resume = resume_plan(costs, retry.stage)
        return RetryPlan(await self._ledger.spent_usd(retry.video_id), resume)

    @activity.defn(name=activity_names.FINALIZE_VIDEO)
    async def finalize_video(self, inp: FinalizeInput) -> None:
        """Write the video's final status and processing time; a cancelled video's partial artifacts go away (only
        ever inside the artifact and outbox folders: a payload sent from the CLI cannot make a worker delete more)."""
        roots = (self._settings.artifacts_dir, self._settings.outbox_dir)
        for path in inp.remove_dirs:
            target = Path(path)
            resolved = target.resolve()
            if target.is_symlink() or not any(resolved != r and resolved.is_relative_to(r) for r in roots):
                activity.logger.warning("not removing %s: outside the artifact and outbox folders", path)
                continue
            await asyncio.to_thread(shutil.rmtree, resolved, ignore_errors=True)
        await self._ledger.finalize(inp.video_id, inp.status, inp.error_type, inp.error_message)
        await self._ledger.record_events([pipeline_events.video_finished(inp, activity.info().workflow_run_id)])
        if inp.status == "failed":
            error_type = inp.error_type or "Error"
            worthwhile = "true" if retry_worthwhile(error_type) else "false"
            self._metrics.videos_failed.labels(error_type, inp.stage or "", worthwhile).inc()
