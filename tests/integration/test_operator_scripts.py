"""The temporal-dev scripts that change a video go through the API: they sign in with the local admin key, the
ledger records who approved, and a cancel reaches the workflow."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.domain import workflow_id
from core.settings import Settings
from ledger import Ledger
from tests.api.test_stream import serving
from tests.integration import conftest as integration
from tests.integration.conftest import running_workers
from workflows.video import VideoWorkflow

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues
SCRIPTS = Path(__file__).resolve().parents[2] / "temporal-dev"


def script(name: str, *args: str, api_url: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("YTEMPIRE_")}
    env |= {
        "YTEMPIRE_API_URL": api_url,
        "YTEMPIRE_DATA_DIR": str(settings.data_dir),  # where the API keeps its admin key
        "TEMPORAL_ADDRESS": settings.temporal_address,
    }
    return subprocess.run(
        [str(SCRIPTS / name), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


async def test_approve_and_cancel_scripts_go_through_the_api(
    dev_env: WorkflowEnvironment, settings: Settings, ledger: Ledger
) -> None:
    channel = str(uuid.uuid4())
    body = {"topic": "scripted octopus", "channel_id": channel, "user_id": str(uuid.uuid4()), "duration_seconds": 30}
    # Pipeline workers only: the video waits for a render worker, unfinished, while the scripts act on it.
    async with serving(settings) as api, running_workers(dev_env, settings, ledger, roles=("pipeline",)):
        url = str(api.http.base_url).rstrip("/")
        video_id = (await api.http.post("/pipeline/queue", json=body)).json()["video_id"]
        status = await asyncio.to_thread(script, "video-status.sh", video_id, api_url=url, settings=settings)
        approved = await asyncio.to_thread(
            script, "approve-video.sh", video_id, "4.5", "maria", "flagship", "video", api_url=url, settings=settings
        )
        costs = await dev_env.client.get_workflow_handle(workflow_id(video_id)).query(VideoWorkflow.costs)
        refused = await asyncio.to_thread(
            script, "approve-video.sh", video_id, "2", "maria", "lower", api_url=url, settings=settings
        )
        cancelled = await asyncio.to_thread(script, "cancel-channel.sh", channel, api_url=url, settings=settings)
        for _ in range(100):
            if (await api.http.get(f"/pipeline/status/{video_id}")).json()["status"] == "cancelled":
                break
            await asyncio.sleep(0.2)
        final = (await api.http.get(f"/pipeline/status/{video_id}")).json()["status"]
        anonymous = await asyncio.to_thread(
            script,
            "cancel-video.sh",
            video_id,
            api_url=url,
            settings=settings.model_copy(update={"data_dir": Path("/nonexistent")}),
        )
    # The query's answer is sealed in Temporal; the CLI has the API's codec endpoint open it, with the same key.
    assert status.returncode == 0 and '"completed_stages":[' in status.stdout, status.stdout + status.stderr
    assert approved.returncode == 0 and '"cap_usd":4.5' in approved.stdout, approved.stdout + approved.stderr
    assert refused.returncode != 0 and "above the current cap" in refused.stdout
    assert cancelled.returncode == 0 and video_id in cancelled.stdout and "cancelling" in cancelled.stdout
    assert final == "cancelled"
    assert anonymous.returncode != 0 and "sign in" in anonymous.stdout  # no key, no change
    assert [(a.approved_by, a.reason) for a in costs.approvals] == [("api_key:local-admin for maria", "flagship video")]
