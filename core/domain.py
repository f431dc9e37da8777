"""Typed payloads that cross the Temporal and HTTP boundaries. Paths, never bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args
from uuid import UUID

Complexity = Literal["simple", "complex", "premium"]
Orientation = Literal["portrait", "landscape"]
VideoStatus = Literal["queued", "processing", "completed", "failed", "cancelled", "halted"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})  # halted can still continue
# The only moves a video's status makes, by target: where it may come from. The ledger writes each through one
# gate (ledger/videos.py), so no late or repeated write can take a video back (a completed one to processing, say).
# Admission inserts a video as queued.
_ANY_STATUS: frozenset[VideoStatus] = frozenset(get_args(VideoStatus))
STATUS_REACHABLE_FROM: dict[VideoStatus, frozenset[VideoStatus]] = {
    "queued": frozenset({"failed", "processing"}),  # a whole-video retry (by the API; by the workflow itself)
    "processing": frozenset({"queued", "processing", "halted"}),  # a stage starts; an approval resumes a halt
    "halted": frozenset({"queued", "processing", "halted"}),  # the budget stops the next stage
    "completed": _ANY_STATUS,
    "failed": _ANY_STATUS,
    "cancelled": _ANY_STATUS,
}


def workflow_id(video_id: str | UUID) -> str:
    """A video's workflow id: `video-<video_id>`, what the API, the CLI scripts and the UI address it by."""
    return f"video-{video_id}"


def video_id_of_workflow(wf_id: str) -> str | None:
    """The video a `video-<uuid>` workflow id names, or None for any other workflow id."""
    prefix, _, rest = wf_id.partition("-")
    if prefix != "video":
        return None
    try:
        return str(UUID(rest))
    except ValueError:
        return None


RESOLUTIONS: dict[str, tuple[int, int]] = {"portrait": (1080, 1920), "landscape": (1920, 1080)}


RenderRole = Literal["cpu", "gpu"]


def render_role(complexity: str) -> RenderRole:
    """Where a video renders: simple videos on the CPU queue; complex and premium ones on the GPU queue."""
    return "cpu" if complexity == "simple" else "gpu"


def rendered_alike(complexity: str) -> tuple[str, ...]:
    """The complexities that share this one's render queue (and so its slots and its line)."""
    role = render_role(complexity)
    return tuple(c for c in get_args(Complexity) if render_role(c) == role)


@dataclass(frozen=True)
class TaskQueues:
    pipeline: str
    cpu: str
    gpu: str

    def render_queue(self, complexity: str) -> str:
        return self.cpu if render_role(complexity) == "cpu" else self.gpu


@dataclass(frozen=True)
class VideoRequest:
    video_id: str
    topic: str
    channel_id: str
    user_id: str
    priority: int = 5
    complexity: Complexity = "simple"
    duration_seconds: int = 60
    orientation: Orientation = "portrait"
    cost_cap_usd: float | None = None  # None: the configured default
    callback_url: str | None = None  # POSTed a signed event when the video completes, fails, is cancelled or halts
    language: str = "en"  # BCP 47: what the script is written in and the narration speaks
    voice: str | None = None  # a Piper voice of YTEMPIRE_PIPER_VOICES_DIR by name (None: the language's own)
    music: str | None = None  # a mood or a file of YTEMPIRE_MUSIC_DIR, or "none" (None: the channel's choice)

    @property
    def resolution(self) -> tuple[int, int]:
        return RESOLUTIONS[self.orientation]


@dataclass(frozen=True)
class StageResult:
    stage: str
    artifacts: dict[str, str]
    cost_usd: float
    details: dict[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoBudget:
    """A video's budget: never crossed without an operator's approval (a `halted` video waits for one)."""

    cap_usd: float = 3.00
    warning_usd: float = 2.50
    critical_usd: float = 2.80
    ceiling_usd: float = 10.00
    halt_timeout_seconds: float = 86400
    estimates_usd: dict[str, float] = field(default_factory=dict)  # an upper bound per stage
    webhooks: bool = False  # deliver cost alerts to the configured webhook


@dataclass(frozen=True)
class BudgetApproval:
    new_cap_usd: float
    approved_by: str
    reason: str


@dataclass(frozen=True)
class CostAlert:
    video_id: str
    kind: str  # cost_warning | cost_critical | cost_halt
    level: str  # warning | critical
    message: str
    spent_usd: float
    cap_usd: float
    threshold_usd: float


@dataclass(frozen=True)
class VideoStatusChange:
    video_id: str
    status: VideoStatus
    note: str | None = None
    stage: str | None = None  # a halt: the stage it stops before (a retry resumes there)


@dataclass(frozen=True)
class CostBreakdown:
    total_usd: float
    cap_usd: float
    by_service: dict[str, float]
    by_stage: dict[str, float]
    approvals: list[BudgetApproval]


@dataclass(frozen=True)
class CarriedBudget:
    """A whole-video retry's inheritance: every dollar earlier attempts were billed (resumed stages included), the
    cap as operators raised it, their approvals, and the alerts already sent."""

    spent_usd: float
    cap_usd: float
    approvals: list[BudgetApproval] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VideoRetry:
    """The workflow retries its video as a whole: the ledger records the failure and the coming attempt."""

    video_id: str
    attempt: int  # the attempt about to start
    stage: str  # where it failed (it resumes there, or at the stage's rerun_from)
    error_type: str
    message: str
    delay_seconds: float


@dataclass(frozen=True)
class RetryPlan:
    """What the ledger says the next whole-video attempt inherits: everything billed so far, and the stages it can
    reuse (booked, outputs on disk) — a stage whose result Temporal never heard (its worker died right after the
    ledger write, then the stage ran out of attempts) included."""

    spent_usd: float
    resume: dict[str, StageResult] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoWorkflowInput:
    request: VideoRequest
    queues: TaskQueues
    artifact_dir: str
    outbox_dir: str
    render_heartbeat_timeout_seconds: float = 15.0
    stage_heartbeat_timeout_seconds: float = 15.0
    # Whole-video attempts this video may have in all (1: no automatic retry); the workflow retries a video that
    # failed for a reason worth retrying (core.errors.retry_worthwhile) itself, after retry_backoff_seconds, doubling,
    # at most 300 s.
    video_attempts: int = 1
    retry_backoff_seconds: float = 30.0
    # What earlier attempts spent and were approved: the budget is the whole video's, not one attempt's.
    carried: CarriedBudget | None = None
    # A whole-video retry resumes here: stages that already succeeded (outputs on disk, cost in the ledger).
    resume: dict[str, StageResult] = field(default_factory=dict)
    attempt: int = 1
    budget: VideoBudget = field(default_factory=VideoBudget)


ATTEMPT_KEYS_PER_EXECUTION = 1000


@dataclass(frozen=True)
class StageInput:
    """One input object for every stage activity, so fields can be added without breaking history."""

    stage: str
    request: VideoRequest
    artifact_dir: str
    outbox_dir: str
    artifacts: dict[str, str] = field(default_factory=dict)
    video_attempt: int = 1  # which whole-video attempt this stage run belongs to (cost rows are per attempt)
    # The most this stage may still be billed, all its attempts together: the cap less what the video had spent
    # when the stage was scheduled (None: no limit is passed, as for workflows started before it was). An attempt
    # that could cross it is refused (StageBudgetExhausted) and the video halts for an approval instead.
    budget_usd: float | None = None
    estimate_usd: float = 0.0  # the upper bound of one attempt's charge
    execution: int = 1  # the stage's run in this whole-video attempt (it runs again after such a halt)

    @property
    def attempt_floor(self) -> int:
        """Failed-attempt charges of this execution are keyed above this (activity attempts restart at 1)."""
        return (self.execution - 1) * ATTEMPT_KEYS_PER_EXECUTION

    def attempt_key(self, activity_attempt: int) -> int:
        return self.attempt_floor + activity_attempt


@dataclass(frozen=True)
class FinalizeInput:
    video_id: str
    status: VideoStatus
    error_type: str | None = None
    error_message: str | None = None
    remove_dirs: list[str] = field(default_factory=list)  # partial artifacts of a cancelled video
    stage: str | None = None  # where it stood (a failure's stage)


@dataclass(frozen=True)
class VideoResult:
    video_id: str
    status: VideoStatus
    mp4_path: str
    metadata_path: str
    thumbnail_path: str
    cost_usd: float
    stage_details: dict[str, dict[str, str | float]]


@dataclass(frozen=True)
class Progress:
    status: VideoStatus
    stage: str | None
    percent: float
    cost_usd: float
    completed_stages: list[str]
    error: str | None = None
    eta_seconds: int | None = None
    cap_usd: float | None = None
    halted_reason: str | None = None
    stage_fraction: float = 0.0  # how far the current stage is (the render reports it; other stages 0)
