"""The non-render stage activities (pipeline task queue): script, speech, media, QA, upload preparation."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.captions import write_ass
from activities.media.library import collect_media
from activities.media.thumbnail import make_thumbnail
from activities.quality.facts import probe
from activities.quality.rules import QualityExpectations, QualityReport, check
from activities.quality.signal import analyze_signal
from activities.script_writer import Script, ScriptError, write_script
from activities.speech.espeak import synthesize_espeak
from activities.speech.timeline import SpeechTimeline
from activities.stage_runner import StageOutcome, run_stage
from ytempire.domain import CostAlert, FinalizeInput, StageInput, StageResult, VideoStatusChange
from ytempire.ledger import CostLine, Ledger
from ytempire.settings import Settings
from ytempire.worker_metrics import WorkerMetrics

log = logging.getLogger(__name__)


def _artifact_dir(inp: StageInput) -> Path:
    path = Path(inp.artifact_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _need(inp: StageInput, key: str) -> Path:
    """An artifact from an earlier stage; a missing one is a bug or lost disk, so say which."""
    if key not in inp.artifacts:
        raise ApplicationError(
            f"stage {inp.stage} needs artifact '{key}' from an earlier stage", type="MissingArtifact"
        )
    path = Path(inp.artifacts[key])
    if not path.exists():
        raise ApplicationError(f"artifact '{key}' is missing on disk: {path}", type="MissingArtifact")
    return path


class PipelineActivities:
    """Activities for every stage but rendering; constructed once per worker with its settings and ledger."""

    def __init__(self, settings: Settings, ledger: Ledger, metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._ledger = ledger
        self._metrics = metrics

    def _overhead(self, service: str, operation: str, **metadata: object) -> CostLine:
        return CostLine(service, operation, self._settings.overhead_usd_per_stage, dict(metadata))

    @activity.defn(name="generate_script")
    async def generate_script(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            try:
                script = write_script(inp.request.topic, inp.request.duration_seconds)
            except ScriptError as err:
                raise ApplicationError(str(err), type="InvalidRequest", non_retryable=True) from err
            path = _artifact_dir(inp) / "script.json"
            script.save(path)
            return StageOutcome(
                {"script": str(path)},
                self._overhead("compute", "template_script", words=script.word_count()),
                {"words": script.word_count(), "provider": "template"},
            )

        return await run_stage(
            self._ledger, inp, body, self._metrics, self._settings.stage_price_overrides.get(inp.stage)
        )

    @activity.defn(name="synthesize_audio")
    async def synthesize_audio(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            script = Script.from_json(json.loads(_need(inp, "script").read_text()))
            out_dir = _artifact_dir(inp)
            wav = out_dir / "voice.wav"
            timeline = await synthesize_espeak(
                script.narration(),
                wav,
                voice=self._settings.espeak_voice,
                words_per_minute=self._settings.words_per_minute,
            )
            timeline_path = out_dir / "timeline.json"
            timeline_path.write_text(json.dumps(timeline.to_json()))
            width, height = inp.request.resolution
            captions = write_ass(
                timeline,
                out_dir / "captions.ass",
                width=width,
                height=height,
                style="basic" if inp.request.complexity == "simple" else "styled",
            )
            return StageOutcome(
                {"voice": str(wav), "timeline": str(timeline_path), "captions": str(captions)},
                self._overhead("tts_local", "espeak_ng", seconds=timeline.duration),
                {"narration_seconds": round(timeline.duration, 3), "provider": "espeak-ng"},
            )

        return await run_stage(
            self._ledger, inp, body, self._metrics, self._settings.stage_price_overrides.get(inp.stage)
        )

    @activity.defn(name="collect_media")
    async def collect_media(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            script = Script.from_json(json.loads(_need(inp, "script").read_text()))
            width, height = inp.request.resolution
            media_dir = _artifact_dir(inp) / "media"
            media_dir.mkdir(exist_ok=True)
            media = await asyncio.to_thread(
                collect_media,
                media_dir,
                count=len(script.narration()),
                width=width,
                height=height,
                seed=inp.request.video_id,
                title=script.title,
                library_dir=self._settings.media_library_dir,
            )
            manifest = media_dir / "media.json"
            manifest.write_text(json.dumps(media.to_json(), indent=2))
            library = sum(1 for item in media.items if item.source == "library")
            return StageOutcome(
                {"media": str(manifest), "title_card": str(media.items[0].path)},
                self._overhead("media_local", "generated_backgrounds", items=len(media.items), library=library),
                {"items": len(media.items), "library_items": library},
            )

        return await run_stage(
            self._ledger, inp, body, self._metrics, self._settings.stage_price_overrides.get(inp.stage)
        )

    @activity.defn(name="validate_quality")
    async def validate_quality(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            video = _need(inp, "video")
            timeline = SpeechTimeline.from_json(json.loads(_need(inp, "timeline").read_text()))
            width, height = inp.request.resolution
            facts, signal = await asyncio.gather(probe(video), analyze_signal(video))
            issues = check(facts, signal, QualityExpectations(duration=timeline.duration, width=width, height=height))
            report = QualityReport(passed=not issues, issues=issues, facts=facts, signal=signal)
            report_path = _artifact_dir(inp) / "qa.json"
            report_path.write_text(json.dumps(report.to_json(), indent=2))
            if issues:
                # A verdict on the same file cannot change on retry; a whole-video retry re-renders instead.
                raise ApplicationError(
                    "quality check failed: " + "; ".join(issue.message for issue in issues),
                    [{"code": issue.code, "message": issue.message} for issue in issues],
                    type="QualityCheckFailed",
                    non_retryable=True,
                )
            return StageOutcome(
                {"qa_report": str(report_path)},
                self._overhead("compute", "qa_probe"),
                {"duration": round(facts.duration, 3), "lufs": signal.integrated_lufs or 0.0},
            )

        return await run_stage(
            self._ledger, inp, body, self._metrics, self._settings.stage_price_overrides.get(inp.stage)
        )

    @activity.defn(name="prepare_upload")
    async def prepare_upload(self, inp: StageInput) -> StageResult:
        async def body() -> StageOutcome:
            video = _need(inp, "video")
            script = Script.from_json(json.loads(_need(inp, "script").read_text()))
            outbox = Path(inp.outbox_dir) / inp.request.video_id
            outbox.mkdir(parents=True, exist_ok=True)
            final = outbox / "video.mp4"
            if final.exists():
                final.unlink()
            try:
                os.link(video, final)  # same filesystem: no copy of a large file
            except OSError:
                await asyncio.to_thread(shutil.copyfile, video, final)
            thumbnail = await asyncio.to_thread(make_thumbnail, _need(inp, "title_card"), outbox / "thumbnail.jpg")
            metadata = {
                "video_id": inp.request.video_id,
                "channel_id": inp.request.channel_id,
                "files": {"video": str(final), "thumbnail": str(thumbnail)},
                # The body of a YouTube Data API v3 videos.insert call (part=snippet,status).
                "youtube": {
                    "snippet": {
                        "title": script.title,
                        "description": script.description,
                        "tags": script.tags,
                        "categoryId": "27",  # Education
                        "defaultLanguage": "en",
                        "defaultAudioLanguage": "en",
                    },
                    "status": {
                        "privacyStatus": "private",
                        "selfDeclaredMadeForKids": False,
                        "containsSyntheticMedia": True,
                    },
                },
            }
            metadata_path = outbox / "metadata.json"
            tmp = metadata_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(metadata, indent=2))
            tmp.replace(metadata_path)
            size_gb = final.stat().st_size / 1e9
            cost = CostLine(
                "storage",
                "outbox",
                self._settings.overhead_usd_per_stage + size_gb * self._settings.storage_usd_per_gb,
                {"bytes": final.stat().st_size},
            )
            return StageOutcome(
                {"outbox_video": str(final), "thumbnail": str(thumbnail), "metadata": str(metadata_path)},
                cost,
                {"bytes": final.stat().st_size},
            )

        return await run_stage(
            self._ledger, inp, body, self._metrics, self._settings.stage_price_overrides.get(inp.stage)
        )

    @activity.defn(name="record_cost_alert")
    async def record_cost_alert(self, alert: CostAlert) -> bool:
        """Ledger event, metric and log line for a cost alert; a retry of an alert already recorded does nothing."""
        details = {"spent_usd": alert.spent_usd, "cap_usd": alert.cap_usd, "threshold_usd": alert.threshold_usd}
        recorded = await self._ledger.record_video_alert_once(
            alert.video_id, alert.kind, alert.level, alert.message, details
        )
        if recorded:
            self._metrics.cost_alerts.labels(alert.kind).inc()
            log.warning("video %s %s: %s", alert.video_id, alert.kind, alert.message)
        return recorded

    @activity.defn(name="set_video_status")
    async def set_video_status(self, change: VideoStatusChange) -> None:
        """A cost halt, or the resumption after an approval (recorded with who and why)."""
        await self._ledger.set_status(change.video_id, change.status)
        if change.status == "processing" and change.note:  # the halt itself is recorded as its cost_halt alert
            await self._ledger.record_event("budget_approved", "info", change.note, {}, video_id=change.video_id)

    @activity.defn(name="finalize_video")
    async def finalize_video(self, inp: FinalizeInput) -> None:
        """Write the video's final status and processing time; a cancelled video's partial artifacts go away."""
        for path in inp.remove_dirs:
            await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
        await self._ledger.finalize(inp.video_id, inp.status, inp.error_type, inp.error_message)
