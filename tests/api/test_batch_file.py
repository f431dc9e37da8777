"""Queueing a CSV or JSON Lines file: every row checked first and named by its line; the same file twice queues once."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from api.batch_file import BatchFileError, file_key, queue_rows, read_rows
from core.settings import Settings
from ledger.videos import HOLDS_CAPACITY
from tests.integration import conftest as integration
from tests.integration.conftest import api_client

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues

REPO = Path(__file__).resolve().parents[2]


def csv_file(tmp_path: Path, channel: str, rows: list[str], name: str = "videos.csv") -> Path:
    user = str(uuid.uuid4())
    lines = ["topic,channel_id,user_id,priority,complexity,language"]
    lines += [row.format(channel=channel, user=user) for row in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_rows_keep_their_line_numbers_and_skip_empty_cells(tmp_path: Path) -> None:
    lines = ["octopus hearts,{channel},{user},7,,", "", "glowing squid,{channel},{user},,complex,es"]
    rows = read_rows(csv_file(tmp_path, str(uuid.uuid4()), lines))
    assert [row.line for row in rows] == [2, 4]
    assert rows[0].body["priority"] == "7" and "complexity" not in rows[0].body
    assert rows[1].body["complexity"] == "complex" and rows[1].body["language"] == "es"


def test_a_bad_row_is_named_by_its_line_before_anything_is_sent(tmp_path: Path) -> None:
    channel = str(uuid.uuid4())
    path = csv_file(tmp_path, channel, ["octopus hearts,{channel},{user},7,,", "squid,{channel},{user},11,,"])
    with pytest.raises(BatchFileError, match=r"line 3: priority: Input should be less than or equal to 10"):
        read_rows(path)
    extra = csv_file(tmp_path, channel, ["octopus hearts,{channel},{user},7,,,surplus"], "extra.csv")
    with pytest.raises(BatchFileError, match="line 2: more cells than the header has columns"):
        read_rows(extra)
    jsonl = tmp_path / "videos.jsonl"
    jsonl.write_text('# my videos\n{"topic": "octopus hearts"}\n')
    with pytest.raises(BatchFileError, match="line 2: channel_id: Field required"):
        read_rows(jsonl)
    jsonl.write_text("{not json\n")
    with pytest.raises(BatchFileError, match="line 1: not JSON"):
        read_rows(jsonl)
    (tmp_path / "empty.csv").write_text("topic,channel_id,user_id\n")
    with pytest.raises(BatchFileError, match="no videos in the file"):
        read_rows(tmp_path / "empty.csv")


def test_the_script_refuses_a_bad_file_with_exit_status_2(tmp_path: Path) -> None:
    path = csv_file(tmp_path, str(uuid.uuid4()), ["x,{channel},{user},7,,"])
    done = subprocess.run(
        [str(REPO / "temporal-dev" / "queue-batch.sh"), str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "line 2: topic: String should have at least 3 characters" in done.stderr


async def test_a_file_queued_twice_queues_each_video_once(
    dev_env: WorkflowEnvironment, settings: Settings, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    channel = str(uuid.uuid4())
    rows = [f"video {i} about octopus hearts,{{channel}},{{user}},{1 + i % 10},," for i in range(105)]
    path = csv_file(tmp_path, channel, rows)
    depth = int(await pg_pool.fetchval(f"SELECT count(*) FROM video_queue WHERE {HOLDS_CAPACITY}"))
    try:
        async with api_client(settings.model_copy(update={"queue_capacity": depth + 103})) as api:
            first, first_rejected = await queue_rows(api, read_rows(path), file_key(path))
        async with api_client(settings.model_copy(update={"queue_capacity": depth + 110})) as api:
            second, second_rejected = await queue_rows(api, read_rows(path), file_key(path))
        assert first_rejected == 2 and len(first) == 105
        assert first[0].startswith("line 2: created ") and "position" in first[0]
        assert first[-1].startswith("line 106: rejected (queue_full): ")
        assert second_rejected == 0
        assert sum(line.split()[2] == "repeated" for line in second) == 103
        assert [line.split()[2] for line in second[-2:]] == ["created", "created"]
        count = await pg_pool.fetchval("SELECT count(*) FROM video_queue WHERE channel_id = $1", channel)
        assert count == 105
    finally:
        async for wf in dev_env.client.list_workflows(f'ChannelId = "{channel}" AND ExecutionStatus = "Running"'):
            await dev_env.client.get_workflow_handle(wf.id).terminate("test cleanup")
        await pg_pool.execute("DELETE FROM video_queue WHERE channel_id = $1", channel)
