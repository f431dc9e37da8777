"""Fake stage activities registered under the real names, recording every call."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.alerts import WebhookDelivery
from core.domain import (
    CostAlert,
    FinalizeInput,
    RetryPlan,
    StageInput,
    StageResult,
    VideoRetry,
    VideoStatusChange,
)
from core.failed_charges import with_failed_charges
from core.stage_table import STAGES_BY_NAME


@dataclass
class FakeStages:
    fail_stage: str | None = None
    fail_times: int = 0  # fail this many attempts (a large number: always)
    non_retryable: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    render_queues: list[str] = field(default_factory=list)
    finalized: list[FinalizeInput] = field(default_factory=list)
    slow_stage: str | None = None  # this stage takes a second and ignores cancellation (it never heartbeats)
    slow_started: asyncio.Event = field(default_factory=asyncio.Event)
    costs: dict[str, float] = field(default_factory=dict)  # what each stage charges (default $0.01)
    alerts: list[CostAlert] = field(default_factory=list)
    alert_failures: int = 0  # fail this many record_cost_alert attempts first (a retried activity)
    statuses: list[VideoStatusChange] = field(default_factory=list)
    halted: asyncio.Event = field(default_factory=asyncio.Event)
    webhooks: list[WebhookDelivery] = field(default_factory=list)
    webhook_down: bool = False  # the receiver answers 503 forever
    # The worker under this stage is lost for its first `hang_times` attempts: the attempt never heartbeats nor
    # answers (what a SIGKILLed or OOM-killed worker looks like to Temporal).
    hang_stage: str | None = None
    hang_times: int = 0
    hangs: Counter[str] = field(default_factory=Counter)
    calls_by_attempt: Counter[tuple[str, int]] = field(default_factory=Counter)  # (stage, whole-video attempt)
    retries: list[VideoRetry] = field(default_factory=list)
    # This stage's first execution uses up its budget (billed failures, a long render): it refuses, having been
    # billed `refused_charge`, as activities/stage_runner.py does.
    refuse_stage: str | None = None
    refused_charge: float = 0.0
    budgets: list[tuple[str, int, float | None]] = field(default_factory=list)  # (stage, execution, budget_usd)
    # What the ledger would hold: each stage's latest success, and every dollar billed.
    succeeded: dict[str, StageResult] = field(default_factory=dict)
    spent: float = 0.0

    async def _hang_if_lost(self, inp: StageInput) -> None:
        if inp.stage == self.hang_stage and self.hangs[inp.stage] < self.hang_times:
            self.hangs[inp.stage] += 1
            await asyncio.sleep(24 * 3600)  # until the test's worker shuts down

    def _result(self, inp: StageInput, **artifacts: str) -> StageResult:
        self.budgets.append((inp.stage, inp.execution, inp.budget_usd))
        if inp.stage == self.refuse_stage and inp.execution == 1:
            raise with_failed_charges(
                ApplicationError(
                    "fake: another attempt could cross the cap", type="StageBudgetExhausted", non_retryable=True
                ),
                self.refused_charge,
            )
        self.calls[inp.stage] += 1
        self.calls_by_attempt[inp.stage, inp.video_attempt] += 1
        if inp.stage == self.fail_stage and self.calls[inp.stage] <= self.fail_times:
            # As activities/stage_runner.py does: the error of the stage's last own attempt (in this whole-video
            # attempt) is final; the retry policy's further attempts are for infrastructure faults.
            spent = self.calls_by_attempt[inp.stage, inp.video_attempt]
            own_attempts_spent = spent >= STAGES_BY_NAME[inp.stage].max_attempts
            raise ApplicationError(
                f"fake {inp.stage} failure #{self.calls[inp.stage]}",
                type="InvalidRequest" if self.non_retryable else "FakeFlake",
                non_retryable=self.non_retryable or own_attempts_spent,
            )
        cost = self.costs.get(inp.stage, 0.01)
        result = StageResult(stage=inp.stage, artifacts=artifacts, cost_usd=cost, details={"service": "fake"})
        self.succeeded[inp.stage] = result
        self.spent = round(self.spent + cost + (self.refused_charge if inp.execution > 1 else 0.0), 4)
        return result

    def charged(self) -> float:
        """What the stages that really ran charged."""
        return round(sum(self.costs.get(stage, 0.01) * count for stage, count in self.calls.items()), 4)

    @activity.defn(name="generate_script")
    async def generate_script(self, inp: StageInput) -> StageResult:
        await self._hang_if_lost(inp)
        return self._result(inp, script="/fake/script.json")

    @activity.defn(name="synthesize_audio")
    async def synthesize_audio(self, inp: StageInput) -> StageResult:
        await self._hang_if_lost(inp)
        assert "script" in inp.artifacts
        if inp.stage == self.slow_stage:
            self.slow_started.set()
            await asyncio.shield(asyncio.sleep(1.0))
        return self._result(inp, voice="/fake/voice.wav", timeline="/fake/timeline.json")

    @activity.defn(name="collect_media")
    async def collect_media(self, inp: StageInput) -> StageResult:
        await self._hang_if_lost(inp)
        return self._result(inp, media="/fake/media.json", title_card="/fake/title.png")

    @activity.defn(name="render_video")
    async def render_video(self, inp: StageInput) -> StageResult:
        await self._hang_if_lost(inp)
        self.render_queues.append(activity.info().task_queue)
        assert {"voice", "media", "timeline"} <= inp.artifacts.keys()
        return self._result(inp, video="/fake/final.mp4")

    @activity.defn(name="validate_quality")
    async def validate_quality(self, inp: StageInput) -> StageResult:
        await self._hang_if_lost(inp)
        return self._result(inp, qa_report="/fake/qa.json")

    @activity.defn(name="prepare_upload")
    async def prepare_upload(self, inp: StageInput) -> StageResult:
        await self._hang_if_lost(inp)
        return self._result(
            inp,
            outbox_video="/fake/out/video.mp4",
            thumbnail="/fake/out/thumb.jpg",
            metadata="/fake/out/meta.json",
        )

    @activity.defn(name="record_cost_alert")
    async def record_cost_alert(self, alert: CostAlert) -> bool:
        self.alerts.append(alert)
        if self.alert_failures > 0:
            self.alert_failures -= 1
            raise ApplicationError("fake ledger hiccup", type="FakeFlake")
        return True

    @activity.defn(name="set_video_status")
    async def set_video_status(self, change: VideoStatusChange) -> None:
        self.statuses.append(change)
        if change.status == "halted":
            self.halted.set()

    @activity.defn(name="deliver_webhook")
    async def deliver_webhook(self, delivery: WebhookDelivery) -> int:
        self.webhooks.append(delivery)
        if self.webhook_down:
            raise ApplicationError("receiver answered 503", type="WebhookUnavailable")
        return 200

    @activity.defn(name="schedule_video_retry")
    async def schedule_video_retry(self, retry: VideoRetry) -> RetryPlan:
        """As the ledger answers: what was billed, and the leading stages that succeeded (up to the failed
        stage's rerun_from)."""
        self.retries.append(retry)
        stop_at = STAGES_BY_NAME[retry.stage].rerun_from or retry.stage
        resume: dict[str, StageResult] = {}
        for name in STAGES_BY_NAME:
            if name == stop_at or name not in self.succeeded:
                break
            resume[name] = self.succeeded[name]
        return RetryPlan(self.spent, resume)

    @activity.defn(name="finalize_video")
    async def finalize_video(self, inp: FinalizeInput) -> None:
        self.finalized.append(inp)

    def bookkeeping_activities(self) -> list[object]:
        """The workflow's own ledger writes and deliveries (no stage)."""
        return [
            self.finalize_video,
            self.schedule_video_retry,
            self.record_cost_alert,
            self.set_video_status,
            self.deliver_webhook,
        ]

    def pipeline_activities(self) -> list[object]:
        return [
            self.generate_script,
            self.synthesize_audio,
            self.collect_media,
            self.validate_quality,
            self.prepare_upload,
            self.finalize_video,
            self.schedule_video_retry,
            self.record_cost_alert,
            self.set_video_status,
            self.deliver_webhook,
        ]
