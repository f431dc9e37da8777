"""Fault injection: the stack as separate processes (PostgreSQL, the Temporal dev server, the API, a pipeline, a cpu
and a gpu worker), videos submitted through the API as a client would, faults injected at random moments while
stages run, whatever was killed restarted as `make up` would restart it, and at the end every promise counted.

Used by the bounded suite in `make test` (tests/faults/) and at scale by `bench/faults.py` (`make test-faults`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import asyncpg
import httpx
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from api.local_admin import client_headers
from core.domain import VideoResult, workflow_id
from core.settings import Settings
from core.stage_table import RENDER_STAGE, STAGES
from devstack.postgres import PostgresServer
from devstack.processes import ManagedProcess
from devstack.stack import wait_for_temporal
from devstack.temporal_server import dev_server_argv
from workflows.client import connect

REPO = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)
T = TypeVar("T")

# What a fault does: SIGKILL one process (restarted after), PostgreSQL down (SIGKILLed, or refusing connections
# for OUTAGE_SECONDS), an ffmpeg SIGKILLed under a render, the worker of a stage SIGKILLed the moment its cost row is
# committed (before Temporal hears the stage completed) or the moment a paid provider's answer is booked (before the
# stage ends), the artifact disk (a size-limited tmpfs) filled to the last byte for DISK_FULL_SECONDS.
FAULT_KINDS = (
    "kill_api",
    "kill_pipeline_worker",
    "kill_cpu_worker",
    "kill_gpu_worker",
    "kill_temporal",
    "kill_postgres",
    "postgres_outage",
    "kill_ffmpeg",
    "kill_after_ledger_write",
    "kill_after_provider_bill",
    "disk_full",
)
# Met by the videos whose topic asks for them, at their provider's first answer (ProviderFakes.topic_suffix).
PROVIDER_FAULT_KINDS = ("provider_bills_and_fails", "provider_overruns")
POISONED_INPUT = "poisoned_input"  # counted for each kill of a poisoned video's worker (FaultPlan.poison_stage)
WORKER_QUEUES = {"pipeline_worker": "pipeline", "cpu_worker": "cpu", "gpu_worker": "gpu"}


class ProviderFakes(Protocol):
    """Fakes of the paid APIs (tests/fakes/paid_apis.py) that the stack's workers call through the real clients."""

    env: dict[str, str]  # what points the stack's processes at them

    def topic_suffix(self, index: int) -> str: ...  # marks video `index` for a provider fault, or ""

    def misbehaved(self) -> Counter[str]: ...  # provider faults met so far, by kind

    def billed_units(self) -> dict[str, int]: ...  # what each fake billed, by service (tokens, characters)


@dataclass(frozen=True)
class FaultPlan:
    videos: int = 4
    faults: int = 8
    seed: int = 7
    kinds: tuple[str, ...] = FAULT_KINDS
    video_seconds: int = 30  # the API's shortest
    outage_seconds: float = 30.0
    disk_full_seconds: float = 8.0
    disk_mb: int = 2048  # the artifact disk's size (a tmpfs; mounting it needs root, as CI has)
    gap_seconds: tuple[float, float] = (1.0, 4.0)  # between faults
    deadline_seconds: float = 900.0  # for every video to end
    refill: bool = False  # submit `videos` more whenever all have ended and faults remain (a run at scale)
    # One more video whose input crashes its worker at this stage, every time (the worker SIGKILLed whenever that
    # stage starts for it): it must end failed with a typed reason after bounded attempts, the others unharmed.
    poison_stage: str | None = None


@dataclass
class FaultReport:
    injected: Counter[str] = field(default_factory=Counter)  # by kind
    stages_hit: Counter[str] = field(default_factory=Counter)  # by stage running when a fault struck
    videos: int = 0
    completed: int = 0
    poisoned: int = 0  # videos with a poisoned input (counted in `videos`), each failed with a typed reason
    lost: list[str] = field(default_factory=list)  # not completed, or failed without a typed reason
    double_charged: list[str] = field(default_factory=list)  # the workflow's total differs from the ledger's
    over_cap: list[str] = field(default_factory=list)
    missing_or_extra_mp4: list[str] = field(default_factory=list)
    partial_files: list[str] = field(default_factory=list)
    orphan_ffmpeg: list[int] = field(default_factory=list)
    unbooked_or_overbooked: list[str] = field(default_factory=list)  # providers' bills against the ledger's rows
    seconds: float = 0.0

    @property
    def faults(self) -> int:
        return sum(self.injected.values())

    @property
    def broken_promises(self) -> dict[str, object]:
        found = {
            "lost": self.lost,
            "double_charged": self.double_charged,
            "over_cap": self.over_cap,
            "missing_or_extra_mp4": self.missing_or_extra_mp4,
            "partial_files": self.partial_files,
            "orphan_ffmpeg": self.orphan_ffmpeg,
            "provider_bills_disagree_with_ledger": self.unbooked_or_overbooked,
        }
        return {name: value for name, value in found.items() if value}

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.injected.items()))
        stages = ", ".join(f"{stage} {n}" for stage, n in sorted(self.stages_hit.items()))
        return (
            f"{self.faults} faults ({kinds}); stages hit: {stages}\n"
            f"{self.videos} videos, {self.completed} completed, {self.poisoned} poisoned and failed typed, in "
            f"{self.seconds:.0f} s: lost {len(self.lost)}, "
            f"double-charged {len(self.double_charged)}, over-cap {len(self.over_cap)}, "
            f"wrong MP4 count {len(self.missing_or_extra_mp4)}, partial files {len(self.partial_files)}, "
            f"orphan ffmpeg {len(self.orphan_ffmpeg)}, provider bills off the ledger {len(self.unbooked_or_overbooked)}"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FaultStack:
    """The stack of processes under test, in `root`; everything on loopback ports of its own."""

    def __init__(self, root: Path, disk_mb: int | None = None, provider_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.disk_mb = disk_mb  # None: the data folder on the root's own disk (no disk_full faults)
        self._ballast_until = 0.0
        self.data_dir = root / "data"
        self.run_dir = root / "run"
        self.log_dir = root / "logs"
        # Durable, as `make up` runs it: a SIGKILLed PostgreSQL must keep every commit (fast_unsafe would not).
        self.postgres = PostgresServer(root / "pg", _free_port(), self.data_dir / "secrets")
        temporal_port = _free_port()
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=self.data_dir,
            database_url=self.postgres.dsn,
            database_owner_url=self.postgres.owner_dsn,
            temporal_address=f"127.0.0.1:{temporal_port}",
            api_port=_free_port(),
            task_queue_pipeline="faults-pipeline",
            task_queue_cpu="faults-cpu",
            task_queue_gpu="faults-gpu",
        )
        self.env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            YTEMPIRE_DATA_DIR=str(self.data_dir),
            YTEMPIRE_DATABASE_URL=self.postgres.dsn,
            YTEMPIRE_DATABASE_OWNER_URL=self.postgres.owner_dsn,
            YTEMPIRE_TEMPORAL_ADDRESS=self.settings.temporal_address,
            YTEMPIRE_API_PORT=str(self.settings.api_port),
            YTEMPIRE_TASK_QUEUE_PIPELINE=self.settings.task_queue_pipeline,
            YTEMPIRE_TASK_QUEUE_CPU=self.settings.task_queue_cpu,
            YTEMPIRE_TASK_QUEUE_GPU=self.settings.task_queue_gpu,
            YTEMPIRE_WORKER_METRICS_PORT="0",
            YTEMPIRE_WORKER_SDK_METRICS_PORT="0",
            # A lost stage is noticed in seconds: the run stays short. Whole-video retries keep their production
            # backoff (30 s, 60 s): shorter, three attempts could all fall inside one 30 s PostgreSQL outage.
            YTEMPIRE_STAGE_HEARTBEAT_TIMEOUT_SECONDS="4",
            YTEMPIRE_RENDER_HEARTBEAT_TIMEOUT_SECONDS="4",
            YTEMPIRE_RECONCILE_INTERVAL_SECONDS="5",
            YTEMPIRE_RECONCILE_GRACE_SECONDS="10",
            YTEMPIRE_WORKER_SHUTDOWN_GRACE_SECONDS="5",
            **(provider_env or {}),
        )
        self.temporal = ManagedProcess(
            "temporal",
            dev_server_argv(db_file=root / "temporal.db", port=temporal_port, ui_port=None),
            self.run_dir,
            self.log_dir,
        )
        self.api = ManagedProcess("api", [sys.executable, "-m", "api"], self.run_dir, self.log_dir)
        self.workers = {
            name: ManagedProcess(name, [sys.executable, "-m", "workers", "--queues", queue], self.run_dir, self.log_dir)
            for name, queue in WORKER_QUEUES.items()
        }
        self._outage_until = 0.0
        self.pool: asyncpg.Pool | None = None  # set while a run reads the ledger (kill_after_ledger_write)
        self.client: Client | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def api_headers(self) -> dict[str, str]:
        return client_headers(self.data_dir / "admin.key")

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.temporal, *self.workers.values(), self.api]

    async def start(self) -> None:
        if self.disk_mb is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            mounted = await asyncio.to_thread(
                subprocess.run,
                ["mount", "-t", "tmpfs", "-o", f"size={self.disk_mb}m", "tmpfs", str(self.data_dir)],
                capture_output=True,
                text=True,
            )
            if mounted.returncode != 0:
                raise RuntimeError(f"the disk_full fault needs a tmpfs (root): mount said {mounted.stderr.strip()}")
        await asyncio.to_thread(self.postgres.start)
        self.temporal.start(self.env, REPO)
        await wait_for_temporal(self.settings.temporal_address, self.settings.temporal_namespace, 60)
        for proc in (*self.workers.values(), self.api):
            proc.start(self.env, REPO)
        await self._wait_for_api(90)

    async def _wait_for_api(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.api_url}/healthz", timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.3)
        raise RuntimeError(f"the API did not become healthy; see {self.api.log_file}")

    async def restart_what_died(self) -> None:
        """What `make up` does after a crash: start whatever is not running (PostgreSQL after its outage); and what
        an operator does about a full disk: free it (once the fault's time is up)."""
        if self._ballast_until and time.monotonic() >= self._ballast_until:
            (self.data_dir / "ballast.bin").unlink(missing_ok=True)
            self._ballast_until = 0.0
        if time.monotonic() >= self._outage_until and not await asyncio.to_thread(self.postgres.running):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.postgres.start)
        for proc in self.processes:
            if not proc.alive():
                proc.pid_file.unlink(missing_ok=True)
                proc.start(self.env, REPO)

    async def inject(self, kind: str, plan: FaultPlan, rng: random.Random) -> str | None:
        """Inject one fault: the kind it turned out to be, None when there was nothing to strike (no ffmpeg
        running, say)."""
        if kind.startswith("kill_") and kind[5:] in (*WORKER_QUEUES, "api", "temporal"):
            name = kind[5:]
            proc = self.api if name == "api" else self.temporal if name == "temporal" else self.workers[name]
            pid = proc.pid()
            if pid is None:
                return None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # the process alone: what it started must die with it by itself
            return kind
        if kind == "kill_postgres":
            pid = self._postmaster_pid()
            if pid is None:
                return None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return kind
        if kind == "postgres_outage":
            self._outage_until = time.monotonic() + plan.outage_seconds
            await asyncio.to_thread(self._stop_postgres_now)
            return kind
        if kind == "disk_full":
            if self.disk_mb is None:
                return None
            await asyncio.to_thread(self._fill_disk)
            self._ballast_until = time.monotonic() + plan.disk_full_seconds
            return kind
        if kind == "kill_after_ledger_write":
            return await self._kill_after_ledger_write("pipeline_costs", kind)
        if kind == "kill_after_provider_bill":
            return await self._kill_after_ledger_write("pipeline_failed_charges", kind)
        if kind == "kill_ffmpeg":
            renders = [pid for name in ("cpu_worker", "gpu_worker") for pid in self._ffmpeg_under(self.workers[name])]
            if not renders:
                return None
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(renders), signal.SIGKILL)
            return kind
        raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")

    async def _kill_after_ledger_write(self, table: str, kind: str, seconds: float = 30.0) -> str | None:
        """Watch for the next row in `table` (a stage's cost row, or a provider's charge written ahead) and SIGKILL
        the worker that wrote it at once: `kind` when its stage's activity was still open (the worker died between
        the ledger write and telling Temporal), else the plain worker kill it turned out to be."""
        pool, client = self.pool, self.client
        assert pool is not None and client is not None
        last = await pool.fetchval(f"SELECT COALESCE(max(id), 0) FROM {table}")  # noqa: S608 - one of two names
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            row = await pool.fetchrow(
                f"SELECT video_id, stage FROM {table} WHERE id > $1 ORDER BY id LIMIT 1",  # noqa: S608
                last,
            )
            if row is None:
                await asyncio.sleep(0.005)
                continue
            names = ["cpu_worker", "gpu_worker"] if row["stage"] == RENDER_STAGE else ["pipeline_worker"]
            for name in names:
                if (pid := self.workers[name].pid()) is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            described = await client.get_workflow_handle(workflow_id(row["video_id"])).describe()
            activity = next(spec.activity for spec in STAGES if spec.name == row["stage"])
            if any(p.activity_type.name == activity for p in described.raw_description.pending_activities):
                return kind
            return f"kill_{names[0]}"
        return None

    def _fill_disk(self) -> None:
        """Write a ballast file until the artifact disk has no byte left."""
        chunk = b"\0" * (1 << 20)
        with contextlib.suppress(OSError), (self.data_dir / "ballast.bin").open("ab") as ballast:
            while True:
                ballast.write(chunk)
                ballast.flush()
        with contextlib.suppress(OSError), (self.data_dir / "ballast.bin").open("ab", buffering=0) as ballast:
            while ballast.write(b"\0" * 4096):
                pass

    def _postmaster_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int((self.postgres.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def _stop_postgres_now(self) -> None:
        # "immediate": connections drop at once and new ones are refused until it starts again
        self.postgres._run(  # noqa: SLF001 - the one caller that needs an immediate stop
            str(self.postgres.bin_dir / "pg_ctl"),
            "-D",
            str(self.postgres.data_dir),
            "-m",
            "immediate",
            "stop",
            check=False,
        )

    @staticmethod
    def _ffmpeg_under(proc: ManagedProcess) -> list[int]:
        pid = proc.pid()
        if pid is None:
            return []
        return [child for child in _children(pid) if _is_ffmpeg(child)]

    async def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop(timeout=10)
        await asyncio.to_thread(self.postgres.stop)
        if not self.postgres.data_dir.is_relative_to(self.root):  # as root it lives under /var/tmp
            shutil.rmtree(self.postgres.data_dir, ignore_errors=True)
        if self.disk_mb is not None:
            await asyncio.to_thread(subprocess.run, ["umount", "-l", str(self.data_dir)], capture_output=True)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _is_ffmpeg(pid: int) -> bool:
    with contextlib.suppress(FileNotFoundError):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return bool(argv) and argv[0].endswith(b"ffmpeg")
    return False


def _ffmpeg_reading(root: Path) -> list[int]:
    """Every ffmpeg on the machine working on files under `root` (after the stack stopped: orphans)."""
    found = []
    for proc_dir in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            argv = (proc_dir / "cmdline").read_bytes().split(b"\0")
            if argv and argv[0].endswith(b"ffmpeg") and str(root).encode() in b" ".join(argv):
                found.append(int(proc_dir.name))
    return found


async def _submit(
    api_url: str, headers: dict[str, str], index: int, plan: FaultPlan, run_id: str, topic_suffix: str = ""
) -> str:
    """POST one video like a careful client: an Idempotency-Key, resent until the API answers (it may be down)."""
    body = {
        "topic": f"fault drill {index}: octopus hearts{topic_suffix}",
        "channel_id": str(uuid.UUID(int=index + 1)),
        "user_id": str(uuid.UUID(int=1000 + index)),
        "priority": 1 + index % 10,
        "complexity": "simple" if index % 2 == 0 else "complex",
        "duration_seconds": plan.video_seconds,
    }
    async with httpx.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                answer = await http.post(
                    f"{api_url}/pipeline/queue",
                    json=body,
                    headers={**headers, "Idempotency-Key": f"{run_id}-{index}"},
                    timeout=10,
                )
                if answer.status_code in (200, 201, 202):
                    return str(answer.json()["video_id"])
                if answer.status_code < 500 and answer.status_code != 429:
                    raise RuntimeError(f"the API refused video {index}: {answer.status_code} {answer.text}")
            await asyncio.sleep(0.5)


STAGE_OF_ACTIVITY = {spec.activity: spec.name for spec in STAGES}


async def _running_stages(pool: asyncpg.Pool, client: Client) -> list[str]:
    """The stages whose activity a worker is running right now (not a video between two stages)."""
    rows = await pool.fetch("SELECT id FROM video_queue WHERE status = 'processing'")
    running: list[str] = []
    for row in rows:
        described = await client.get_workflow_handle(workflow_id(row["id"])).describe()
        for pending in described.raw_description.pending_activities:
            stage = STAGE_OF_ACTIVITY.get(pending.activity_type.name)
            if stage is not None and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                running.append(stage)
    return running


async def run_faults(
    plan: FaultPlan, root: Path, providers: ProviderFakes | None = None, say: Callable[[str], None] = print
) -> FaultReport:
    """Run the plan on a fresh stack in `root` (its scripts and speech from `providers`, else local) and count
    what it broke."""
    if providers is None and "kill_after_provider_bill" in plan.kinds:
        raise ValueError("kill_after_provider_bill needs paid providers (their fakes) to bill")
    rng = random.Random(plan.seed)
    report = FaultReport()
    stack = FaultStack(root, plan.disk_mb if "disk_full" in plan.kinds else None, providers and providers.env)

    def submit(index: int) -> asyncio.Task[str]:
        suffix = providers.topic_suffix(index) if providers else ""
        return asyncio.create_task(_submit(stack.api_url, stack.api_headers, index, plan, run_id, suffix))

    started = time.monotonic()
    await stack.start()
    say(f"stack up in {time.monotonic() - started:.0f} s; {plan.videos} videos, {plan.faults} faults")
    login = stack.postgres.app_login()
    pool = await asyncpg.create_pool(login.dsn, password=login.password, min_size=0, max_size=4)  # no floor: outages
    assert pool is not None
    run_id = uuid.uuid4().hex[:8]
    client = await connect(stack.settings)
    stack.pool, stack.client = pool, client
    try:
        submissions = [submit(i) for i in range(plan.videos)]
        poisoned = submit(POISONED_INDEX) if plan.poison_stage else None
        kinds = list(plan.kinds)
        rng.shuffle(kinds)
        supervisor = asyncio.create_task(_supervise(stack))
        poisoner = (
            asyncio.create_task(_poison(stack, client, poisoned, plan.poison_stage, report, say))
            if poisoned is not None and plan.poison_stage
            else None
        )
        try:
            while _more_to_strike(plan, report) and time.monotonic() - started < plan.deadline_seconds:
                await asyncio.sleep(rng.uniform(*plan.gap_seconds))
                stages = await _try(lambda: _running_stages(pool, client)) or []
                if not stages:
                    if all(s.done() for s in submissions) and await _all_final(pool, submissions):
                        if not plan.refill:
                            break  # nothing left to strike
                        first = len(submissions)  # keep videos in flight until every fault is injected
                        submissions += [submit(i) for i in range(first, first + plan.videos)]
                        say(f"{len(submissions)} videos submitted")
                    continue
                kind = min(kinds, key=lambda k: (report.injected[k], kinds.index(k)))  # the least struck so far
                if kind == "kill_after_provider_bill" and providers is not None:
                    # A provider's charge is written in the first seconds of a video, often before the watch starts:
                    # one more video now brings one while it watches.
                    submissions.append(submit(len(submissions)))
                if struck := await _try(functools.partial(stack.inject, kind, plan, rng)):
                    report.injected[struck] += 1
                    report.stages_hit.update(stages)
                    say(f"fault {report.faults}: {struck} while {', '.join(sorted(set(stages)))} ran")
            video_ids = await asyncio.gather(*submissions)
            poisoned_ids = [await poisoned] if poisoned is not None else []
            report.videos = len(video_ids) + len(poisoned_ids)
            await _wait_final(pool, [*video_ids, *poisoned_ids], started + plan.deadline_seconds)
        finally:
            for helper in (supervisor, poisoner):
                if helper is not None:
                    helper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await helper
        await stack.restart_what_died()
        await stack._wait_for_api(90)  # noqa: SLF001
        await _verify(stack, pool, video_ids, report)
        await _verify_poisoned(pool, poisoned_ids, report)
        if providers is not None:
            report.injected.update(providers.misbehaved())
            report.stages_hit["script_generation"] += sum(providers.misbehaved().values())
            report.unbooked_or_overbooked = await _providers_against_ledger(pool, providers)
    finally:
        await pool.close()
        await stack.stop()
    await asyncio.sleep(0.5)
    report.orphan_ffmpeg = _ffmpeg_reading(root)
    report.seconds = time.monotonic() - started
    return report


POISONED_INDEX = 10_000  # the poisoned video's index: a topic, channel and key of its own


async def _poison(
    stack: FaultStack,
    client: Client,
    submission: asyncio.Task[str],
    stage: str,
    report: FaultReport,
    say: Callable[[str], None],
) -> None:
    """SIGKILL the worker running `stage` for the poisoned video each time an attempt of it starts, as an input that
    crashes its worker would (everything else that worker runs dies too)."""
    video_id = await submission
    activity = next(spec.activity for spec in STAGES if spec.name == stage)
    worker = stack.workers["gpu_worker" if stage == RENDER_STAGE else "pipeline_worker"]
    handle = client.get_workflow_handle(workflow_id(video_id))
    struck: set[tuple[str, int]] = set()
    while True:
        await asyncio.sleep(0.05)
        try:
            described = await handle.describe()
        except RPCError:
            continue  # Temporal is down: one of the other faults
        for pending in described.raw_description.pending_activities:
            attempt = (described.run_id, pending.attempt)
            if (
                pending.activity_type.name == activity
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                and attempt not in struck
                and (pid := worker.pid()) is not None
            ):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                struck.add(attempt)
                report.injected[POISONED_INPUT] += 1
                report.stages_hit[stage] += 1
                say(f"poisoned input: {worker.name} SIGKILLed under {stage} (attempt {pending.attempt})")


async def _verify_poisoned(pool: asyncpg.Pool, video_ids: list[str], report: FaultReport) -> None:
    """A poisoned video ends failed, with the type, stage and message of its failure: never completed, never lost."""
    for video_id in video_ids:
        row = await pool.fetchrow("SELECT status, stage, error_log FROM video_queue WHERE id = $1", video_id)
        errors = json.loads(row["error_log"]) if row["error_log"] else []
        last = errors[-1] if errors else {}
        if row["status"] == "failed" and last.get("type") and (last.get("stage") or row["stage"]):
            report.poisoned += 1
        else:
            report.lost.append(f"poisoned {video_id} {row['status']}: {last or 'no error recorded'}")


def _more_to_strike(plan: FaultPlan, report: FaultReport) -> bool:
    """Until `plan.faults` are in, and every kind of the plan at least once (a strike can turn out another kind:
    a kill meant to follow a ledger write that came after Temporal heard is a plain worker kill)."""
    if report.faults >= 3 * plan.faults:
        return False
    return report.faults < plan.faults or any(report.injected[kind] == 0 for kind in plan.kinds)


async def _supervise(stack: FaultStack) -> None:
    while True:
        await asyncio.sleep(0.5)
        with contextlib.suppress(Exception):
            await stack.restart_what_died()


async def _try(read: Callable[[], Awaitable[T]]) -> T | None:
    try:
        return await read()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, RPCError):
        return None  # PostgreSQL or Temporal is down: that is one of the faults


async def _all_final(pool: asyncpg.Pool, submissions: list[asyncio.Task[str]]) -> bool:
    ids = [s.result() for s in submissions]
    count = await _try(
        lambda: pool.fetchval(
            "SELECT count(*) FROM video_queue WHERE id = ANY($1::uuid[]) "
            "AND status IN ('completed', 'failed', 'cancelled')",
            ids,
        )
    )
    return count == len(ids)


async def _wait_final(pool: asyncpg.Pool, video_ids: list[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        count = await _try(
            lambda: pool.fetchval(
                "SELECT count(*) FROM video_queue WHERE id = ANY($1::uuid[]) "
                "AND status IN ('completed', 'failed', 'cancelled')",
                video_ids,
            )
        )
        if count == len(video_ids):
            return
        await asyncio.sleep(1.0)


async def _verify(stack: FaultStack, pool: asyncpg.Pool, video_ids: list[str], report: FaultReport) -> None:
    client = await connect(stack.settings)
    outbox = stack.settings.outbox_dir
    for video_id in video_ids:
        row = await pool.fetchrow("SELECT status, cost_cap, error_log FROM video_queue WHERE id = $1", video_id)
        spent = float(
            await pool.fetchval(
                """SELECT COALESCE((SELECT sum(amount) FROM pipeline_costs WHERE video_id = $1), 0)
                        + COALESCE((SELECT sum(amount) FROM pipeline_failed_charges WHERE video_id = $1), 0)""",
                video_id,
            )
        )
        cap = float(row["cost_cap"]) if row["cost_cap"] is not None else stack.settings.cost_cap_default_usd
        if spent > cap + 1e-6:
            report.over_cap.append(video_id)
        if row["status"] != "completed":
            errors = json.loads(row["error_log"]) if row["error_log"] else []
            report.lost.append(f"{video_id} {row['status']}: {errors[-1] if errors else 'no error recorded'}")
            continue
        report.completed += 1
        try:
            result = await client.get_workflow_handle(workflow_id(video_id), result_type=VideoResult).result()
        except WorkflowFailureError as err:
            report.lost.append(f"{video_id}: the ledger says completed, Temporal {err}")
            continue
        if abs(result.cost_usd - spent) > 1e-4:
            booked = await pool.fetch(
                "SELECT stage, video_attempt, amount FROM pipeline_costs WHERE video_id = $1 ORDER BY id", video_id
            )
            report.double_charged.append(
                f"{video_id}: workflow ${result.cost_usd:.4f} {result.stage_details}, ledger ${spent:.4f} "
                f"{[(r['stage'], r['video_attempt'], float(r['amount'])) for r in booked]}"
            )
        mp4s = sorted((outbox / video_id).glob("*.mp4"))
        if [p.name for p in mp4s] != ["video.mp4"]:
            report.missing_or_extra_mp4.append(f"{video_id}: {[p.name for p in mp4s]}")
    report.partial_files = [str(p) for p in outbox.rglob("*") if p.is_file() and ".partial" in p.name]


async def _providers_against_ledger(pool: asyncpg.Pool, providers: ProviderFakes) -> list[str]:
    """Each paid provider's bill against the ledger's rows for it (successful stages and charges of attempts that
    did not succeed, cache hits left out). Units the ledger knows were billed must not exceed the bill (a double
    booking), and the bill must not exceed them plus the units of calls whose answer never arrived (charged before
    they left, as if billed): more would be a charge lost."""
    rows = await pool.fetch(
        """SELECT service,
                  sum(COALESCE((metadata->>'characters')::bigint, 0)
                      + COALESCE((metadata->>'prompt_tokens')::bigint, 0)
                      + COALESCE((metadata->>'completion_tokens')::bigint, 0)) AS confirmed,
                  sum(COALESCE((metadata->>'unconfirmed_characters')::bigint, 0)
                      + COALESCE((metadata->>'unconfirmed_tokens')::bigint, 0)) AS unconfirmed
           FROM (SELECT service, operation, metadata FROM pipeline_costs
                 UNION ALL SELECT service, operation, metadata FROM pipeline_failed_charges) charges
           WHERE operation NOT LIKE '%cache_hit' GROUP BY service"""
    )
    booked = {r["service"]: (int(r["confirmed"]), int(r["unconfirmed"])) for r in rows}
    wrong = []
    for service, units in providers.billed_units().items():
        confirmed, unconfirmed = booked.get(service, (0, 0))
        if not confirmed <= units <= confirmed + unconfirmed:
            wrong.append(
                f"{service}: the provider billed {units}, the ledger booked {confirmed} "
                f"(+ {unconfirmed} of calls whose answer never arrived)"
            )
    return wrong
