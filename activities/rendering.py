"""The render stage activity (cpu and gpu task queues): heartbeats ffmpeg's progress, dies with its ffmpeg."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.stage_runner import billed_so_far, run_stage
from core import activity_names, cost_policy
from core.domain import StageInput, StageResult, workflow_id
from core.errors import ErrorType
from core.records import CostLine, StageOutcome
from core.settings import Settings
from core.stage_table import RENDER_PROGRESS_SIGNAL
from engines.media.music import MusicLibraryError, Track
from engines.render.encoder import choose_encoder
from engines.render.graph import master_gain
from engines.render.plan import RenderPlan, plan_stills, shot_durations
from engines.render.runner import RenderProgress, render
from engines.speech.timeline import SpeechTimeline
from ledger import Ledger
from providers.errors import attach_charge
from stages.music import choose_music
from telemetry.worker_metrics import WorkerMetrics

CROSSFADE_SECONDS = 0.5


def build_plan(
    inp: StageInput, *, encoder: str, preset: str, music: Track | None = None, music_level_db: float = -12.0
) -> RenderPlan:
    """Turn the earlier stages' artifacts into a render plan: media item i on screen while narration segment i is
    spoken, cut on the segment boundaries of the speech timeline; `music` under the voice."""
    timeline = SpeechTimeline.from_json(json.loads(Path(inp.artifacts["timeline"]).read_text()))
    media = json.loads(Path(inp.artifacts["media"]).read_text())
    paths = [item["path"] for item in media["items"]]
    durations = shot_durations([segment.start for segment in timeline.segments], timeline.duration)
    if len(paths) < len(durations):
        raise ApplicationError(
            f"the media set has {len(paths)} items for {len(durations)} narration segments",
            type=ErrorType.MISSING_ARTIFACT,
        )
    fancy = inp.request.complexity != "simple"
    # A crossfade needs room on both sides of a cut; a very short narration segment gets hard cuts instead.
    crossfade = CROSSFADE_SECONDS if fancy and min(durations) > 3 * CROSSFADE_SECONDS else 0.0
    width, height = inp.request.resolution
    premium = inp.request.complexity == "premium"
    return RenderPlan(
        stills=plan_stills(durations, paths[: len(durations)], crossfade),
        audio_path=inp.artifacts["voice"],
        output_path=str(Path(inp.artifact_dir) / "final.mp4"),
        captions_path=inp.artifacts.get("captions"),
        width=width,
        height=height,
        motion=fancy,
        crossfade=crossfade,
        encoder=encoder,
        preset="medium" if premium else preset,
        crf=20 if premium else 23,
        music_path=str(music.path) if music is not None else None,
        music_level_db=music_level_db,
    )


class _ProgressReporter:
    """Heartbeats every progress line (the server keeps the latest); signals the workflow every 5 % or so, so its
    `progress` query and the Temporal UI move inside the render without a signal per frame."""

    STEP = 0.05

    def __init__(self, workflow_id: str) -> None:
        self._handle = activity.client().get_workflow_handle(workflow_id)
        self._sent = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    def report(self, progress: RenderProgress) -> None:
        activity.heartbeat({"fraction": round(progress.fraction, 4), "speed": progress.speed})
        if progress.fraction - self._sent >= self.STEP:
            self._sent = progress.fraction
            task = asyncio.create_task(self._signal(round(progress.fraction, 3)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _signal(self, fraction: float) -> None:
        try:
            await self._handle.signal(RENDER_PROGRESS_SIGNAL, fraction)
        except Exception:  # progress is best effort; the render itself must not fail for it
            activity.logger.debug("render progress signal failed", exc_info=True)

    async def drain(self) -> None:
        await asyncio.gather(*self._pending, return_exceptions=True)


class RenderActivities:
    """render_video for one render queue; `prefer_gpu` on the gpu queue picks NVENC when a GPU is really there."""

    def __init__(self, settings: Settings, ledger: Ledger, *, prefer_gpu: bool, metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._ledger = ledger
        self._metrics = metrics
        self._encoder = choose_encoder(prefer_gpu)
        self._service = "gpu_compute" if self._encoder.gpu else "cpu_compute"

    @property
    def encoder_reason(self) -> str:
        return self._encoder.reason

    @activity.defn(name=activity_names.RENDER_VIDEO)
    async def render_video(self, inp: StageInput) -> StageResult:
        info = activity.info()
        waited = (info.started_time - info.current_attempt_scheduled_time).total_seconds()
        self._metrics.render_schedule_to_start.labels(info.task_queue).observe(max(waited, 0.0))

        fixed_price = cost_policy.fixed_price(self._settings, inp.stage)

        async def body() -> StageOutcome:
            music = await self._music(inp)
            plan = build_plan(
                inp,
                encoder=self._encoder.name,
                preset=self._settings.render_preset,
                music=music,
                music_level_db=self._settings.music_level_db,
            )
            output = Path(plan.output_path)
            for stale in output.parent.glob(f"{output.stem}.*.partial{output.suffix}"):
                stale.unlink(missing_ok=True)  # left by an attempt whose worker was killed

            reporter = _ProgressReporter(activity.info().workflow_id or workflow_id(inp.request.video_id))
            activity.heartbeat({"fraction": 0.0, "speed": 0.0})
            # The render is billed by its wall time, which a loaded machine stretches past any estimate: it may
            # run only as long as the budget the cap leaves pays for, then it stops and the video halts.
            affordable = await self._affordable_seconds(inp, fixed_price)
            started = time.monotonic()
            try:
                result = await asyncio.wait_for(render(plan, reporter.report), affordable)
            except TimeoutError:
                spent = cost_policy.render_usd(self._settings, time.monotonic() - started)
                raise attach_charge(
                    ApplicationError(
                        f"the render ran {affordable:.0f} s, all the ${inp.budget_usd:.2f} left under the cap pays "
                        "for, and was stopped",
                        type=ErrorType.STAGE_BUDGET_EXHAUSTED,
                        non_retryable=True,
                    ),
                    CostLine(self._service, "ffmpeg_render", spent, {"stopped_at_budget": True}),
                ) from None
            finally:
                await reporter.drain()
            cost = CostLine(
                self._service,
                "ffmpeg_render",
                cost_policy.render_usd(self._settings, result.seconds_wall),
                {"encoder": result.encoder, "render_seconds": round(result.seconds_wall, 3)},
            )
            details: dict[str, str | float] = {
                "encoder": result.encoder,
                "encoder_reason": self._encoder.reason,
                "render_seconds": round(result.seconds_wall, 3),
                "realtime_factor": round(result.realtime_factor, 2),
                "video_seconds": round(plan.duration, 3),
                "music": music.name if music is not None else "none",
                "loudness_seconds": round(result.measure_seconds, 3),
            }
            if result.levels is not None:
                details["loudness_gain_db"] = master_gain(plan, result.levels)
            return StageOutcome({"video": result.output_path}, cost, details)

        return await run_stage(
            self._ledger,
            inp,
            body,
            self._metrics,
            fixed_price,
            liveness=False,  # its progress heartbeats (once a second) keep it alive
        )

    async def _music(self, inp: StageInput) -> Track | None:
        """The video's track (the same on every attempt); a choice the library cannot serve fails the video."""
        try:
            return await asyncio.to_thread(choose_music, self._settings, inp.request)
        except MusicLibraryError as err:
            raise ApplicationError(
                f"no music for this video: {err} (YTEMPIRE_MUSIC_DIR {self._settings.music_dir}; "
                "set the request's music to none for a video without it)",
                type=ErrorType.INVALID_CONFIGURATION,
                non_retryable=True,
            ) from None

    async def _affordable_seconds(self, inp: StageInput, fixed_price: float | None) -> float | None:
        """How long a render may run before its compute charge, with what this execution's failed attempts were
        billed, would cross the budget (None: no limit)."""
        if inp.budget_usd is None or fixed_price is not None or self._settings.compute_usd_per_render_second <= 0:
            return None
        left = inp.budget_usd - await billed_so_far(self._ledger, inp)
        return max(left, 0.0) / self._settings.compute_usd_per_render_second
