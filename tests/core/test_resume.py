"""Planning a whole-video retry: reuse the leading succeeded stages whose outputs still exist."""

from __future__ import annotations

from pathlib import Path

from core.records import CostRow
from core.resume import resume_plan
from core.stage_table import STAGES


def rows(tmp_path: Path, stages: list[str], attempt: int = 1) -> list[CostRow]:
    out = []
    for stage in stages:
        artifact = tmp_path / f"{stage}-{attempt}.out"
        artifact.write_text("x")
        out.append(CostRow(stage, "svc", "op", 0.01, attempt, {"artifacts": {stage: str(artifact)}, "details": {}}))
    return out


def test_resumes_from_the_failed_stage(tmp_path: Path) -> None:
    done = ["script_generation", "audio_synthesis", "media_collection"]
    plan = resume_plan(rows(tmp_path, done), "video_rendering")
    assert list(plan) == done
    assert plan["audio_synthesis"].artifacts == {"audio_synthesis": str(tmp_path / "audio_synthesis-1.out")}


def test_a_rejected_render_is_rendered_again(tmp_path: Path) -> None:
    done = [s.name for s in STAGES[:4]]
    assert list(resume_plan(rows(tmp_path, done), "quality_validation")) == done[:3]


def test_missing_outputs_end_the_reusable_run(tmp_path: Path) -> None:
    costs = rows(tmp_path, ["script_generation", "audio_synthesis", "media_collection"])
    Path(costs[1].metadata["artifacts"]["audio_synthesis"]).unlink()
    assert list(resume_plan(costs, "video_rendering")) == ["script_generation"]


def test_latest_attempt_wins(tmp_path: Path) -> None:
    costs = rows(tmp_path, ["script_generation"], 1) + rows(tmp_path, ["script_generation"], 2)
    plan = resume_plan(costs, "audio_synthesis")
    assert plan["script_generation"].artifacts["script_generation"].endswith("-2.out")
