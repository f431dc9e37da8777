"""One real video seen through the Temporal Web UI in Debian's Chromium, the way an operator finds and reads it."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core import search_attributes
from core.domain import TaskQueues, VideoRequest, workflow_id
from core.settings import Settings
from core.stage_table import STAGES
from devstack.postgres import PostgresServer
from devstack.temporal_server import SERVER_STARTUP_TIMEOUT, dynamic_config_args, temporal_cli
from ledger import Ledger
from tests.admission import admit
from tests.api.test_stream import serving
from tests.browser import chromium
from tests.conftest import TEST_KEY_RING, database_settings, free_port
from tests.integration.conftest import admin_headers
from workers.hosting import build_workers, running
from workflows.client import start_video
from workflows.payload_codec import encrypting_converter

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
WAIT_MS = 15_000  # per UI assertion; the UI answers in well under a second on loopback


@dataclass(frozen=True)
class UiServer:
    env: WorkflowEnvironment
    url: str
    api_port: int  # where its UI finds the codec endpoint (the test serves the API there)
    db_dir: Path  # the server's SQLite database, every file of it


@pytest.fixture(scope="module")
async def ui_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[UiServer]:
    """A dev server of our own with its Web UI and a database on disk (the session's `dev_env` runs headless, in
    memory)."""
    ui_port, api_port = free_port(), free_port()
    db_dir = tmp_path_factory.mktemp("temporal-db")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_startup_timeout=SERVER_STARTUP_TIMEOUT,
        ip="127.0.0.1",  # the CLI binds the UI to the same address: loopback only
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=[
            *dynamic_config_args(),
            "--db-filename",
            str(db_dir / "temporal.db"),
            "--ui-codec-endpoint",
            f"http://127.0.0.1:{api_port}/codec",
        ],
        search_attributes=search_attributes.ALL,
        data_converter=encrypting_converter(TEST_KEY_RING),
    )
    try:
        yield UiServer(env, f"http://127.0.0.1:{ui_port}", api_port, db_dir)
    finally:
        await env.shutdown()


@pytest.fixture
def ui_settings(tmp_path: Path, pg_server: PostgresServer, ui_server: UiServer, queues: TaskQueues) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        **database_settings(pg_server),
        temporal_address=ui_server.env.client.service_client.config.target_host,
        temporal_ui_url=ui_server.url,  # the codec endpoint answers this origin
        api_port=ui_server.api_port,
        task_queue_pipeline=queues.pipeline,
        task_queue_cpu=queues.cpu,
        task_queue_gpu=queues.gpu,
        render_heartbeat_timeout_seconds=5,
    )


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with chromium() as browser:
        yield await browser.new_page(viewport={"width": 1600, "height": 2000})


async def wait_visible(client: Client, query: str, timeout: float = 10) -> None:
    """Visibility trails the workflow by a moment; the UI's list must not be loaded before the row exists."""
    deadline = time.monotonic() + timeout
    while not [wf async for wf in client.list_workflows(query)]:
        if time.monotonic() > deadline:
            raise AssertionError(f"no workflow matches {query}")
        await asyncio.sleep(0.2)


async def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=path)
    print(f"screenshot: {path}")
    return path


async def find_in_list(page: Page, ui_url: str, query: str, wf_id: str, channel_id: str) -> None:
    """Type the visibility query into the list's query box, as an operator would; one completed row answers."""
    await page.goto(f"{ui_url}/namespaces/default/workflows")
    await page.get_by_test_id("toggle-manual-query").click()
    box = page.get_by_test_id("workflow-manual-search-input")
    await box.fill(query)
    await box.press("Enter")
    # The query lands in the URL (a shareable link) and the list is fetched again for it.
    await expect(page).to_have_url(re.compile(rf"[?&]query=.*ChannelId.*{channel_id}"), timeout=WAIT_MS)
    rows = page.get_by_test_id("workflows-summary-configurable-table-row")
    await expect(rows).to_have_count(1, timeout=WAIT_MS)
    await expect(rows.get_by_role("link", name=wf_id)).to_be_visible(timeout=WAIT_MS)
    await expect(rows.get_by_test_id("execution-status")).to_have_text(re.compile("completed", re.I), timeout=WAIT_MS)


async def check_workflow_page(page: Page, request: VideoRequest, wf_id: str) -> None:
    """The header, the six stages on the timeline and the input and result as readable JSON."""
    await expect(page.get_by_test_id("workflow-id-heading")).to_contain_text(wf_id, timeout=WAIT_MS)
    await expect(page.get_by_test_id("execution-status")).to_have_text(re.compile("completed", re.I), timeout=WAIT_MS)
    timeline = page.locator("#event-history-timeline-graph")
    for spec in STAGES:
        await expect(timeline).to_contain_text(spec.activity, timeout=WAIT_MS)

    editors = page.get_by_test_id("input-and-result").locator(".cm-editor")
    workflow_input, result = editors.nth(0), editors.nth(1)
    await expect(workflow_input).to_contain_text('"artifact_dir":', timeout=WAIT_MS)
    await expect(result).to_contain_text('"mp4_path":', timeout=WAIT_MS)
    for payload in (workflow_input, result):
        # A payload the UI could not decode shows as {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "…"}.
        await expect(payload).not_to_contain_text('"encoding"')
    # The editor renders only the lines in view: scroll to the request, at the end of the input.
    await workflow_input.locator(".cm-scroller").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    topic_line = workflow_input.locator(".cm-line", has_text=f'"topic": "{request.topic}"')
    await expect(topic_line).to_be_visible(timeout=WAIT_MS)


async def check_user_metadata(page: Page, request: VideoRequest) -> None:
    """Summary and details as started; current details as the workflow last set them (a query, so a worker is up)."""
    await page.get_by_test_id("user-metadata-tab").click()
    await page.wait_for_url(re.compile(r"/user-metadata"))
    # The UI renders this markdown in sandboxed frames.
    summary = page.frame_locator("#user-metadata-summary").locator("body")
    details = page.frame_locator("#user-metadata-details").locator("body")
    current = page.frame_locator("#user-metadata-current-details").locator("body")
    await expect(summary).to_contain_text(f"{request.complexity} video: {request.topic}", timeout=WAIT_MS)
    await expect(details).to_contain_text(f"channel {request.channel_id}", timeout=WAIT_MS)
    await expect(current).to_contain_text(
        re.compile(r"completed\b.*100 % · \$0\.\d\d so far \(cap \$3\.00\)"), timeout=WAIT_MS
    )


async def check_history(page: Page) -> None:
    """The compact event history names each stage's activity and the ledger's finalize."""
    await page.get_by_test_id("history-tab").click()
    await page.wait_for_url(re.compile(r"/history"))
    await page.get_by_test_id("compact").click()
    table = page.get_by_test_id("event-summary-table")
    # The full list pages 100 events newest first, so generate_script appears only once the compact view is on.
    for activity in [spec.activity for spec in STAGES] + ["finalize_video"]:
        await expect(table).to_contain_text(activity, timeout=WAIT_MS)


async def test_a_finished_video_is_found_and_read_in_the_temporal_ui(
    ui_server: UiServer, ui_settings: Settings, ledger: Ledger, page: Page
) -> None:
    assert [spec.activity for spec in STAGES] == [
        "generate_script",
        "synthesize_audio",
        "collect_media",
        "render_video",
        "validate_quality",
        "prepare_upload",
    ]
    request = VideoRequest(
        video_id=str(uuid.uuid4()),
        # A topic found nowhere else (for the database scan), with markdown the summary must show as typed.
        topic=f"octopus hearts {uuid.uuid4().hex[:8]} *beat* [more](http://example.test)",
        channel_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        priority=7,
        complexity="simple",
        duration_seconds=30,
    )
    wf_id = workflow_id(request.video_id)
    query = f'VideoStatus="completed" AND ChannelId="{request.channel_id}"'
    client = ui_server.env.client
    await admit(ledger, request, {"topic": request.topic})
    # The workers stay up while the browser looks: the UI reads current details through a query on a worker.
    async with running(build_workers(client, ui_settings, ledger, ("pipeline", "cpu", "gpu"))):
        started = time.monotonic()
        handle = await start_video(client, ui_settings, request)
        await asyncio.wait_for(handle.result(), timeout=120)
        await wait_visible(client, query)
        print(f"video completed in {time.monotonic() - started:.1f} s")

        async with serving(ui_settings, port=ui_server.api_port):
            started = time.monotonic()
            await use_the_codec_with_credentials(page, ui_server, ui_settings)
            await check_sealed_without_sign_in(page, ui_server.url, wf_id, request)
            await shot(page, "workflow-sealed")
            await sign_in(page, ui_settings)
            await find_in_list(page, ui_server.url, query, wf_id, request.channel_id)
            await shot(page, "list")
            await (
                page.get_by_test_id("workflows-summary-configurable-table-row").get_by_role("link", name=wf_id).click()
            )
            await page.wait_for_url(re.compile(rf"/workflows/{wf_id}/[^/]+/"))
            await check_workflow_page(page, request, wf_id)
            await shot(page, "workflow")
            await check_user_metadata(page, request)
            await shot(page, "user-metadata")
            await check_history(page)
            await shot(page, "history")
            print(f"UI checks took {time.monotonic() - started:.1f} s")
    assert_nothing_in_clear(ui_server.db_dir, request, wf_id)


async def use_the_codec_with_credentials(page: Page, ui_server: UiServer, settings: Settings) -> None:
    """What an operator sets once in the UI's codec settings (the endpoint the server names, "include cross-origin
    credentials" ticked), written where the UI keeps it before the UI loads."""
    endpoint = f"http://127.0.0.1:{ui_server.api_port}/codec"
    await page.add_init_script(
        f"""if (location.origin === {json.dumps(ui_server.url)}) {{
            localStorage.setItem("endpoint", {json.dumps(json.dumps(endpoint))});
            localStorage.setItem("includeCredentials", "true");
            localStorage.setItem("passAccessToken", "false");
            localStorage.setItem("overrideRemoteCodecConfiguration", "true");
        }}"""
    )


async def check_sealed_without_sign_in(page: Page, ui_url: str, wf_id: str, request: VideoRequest) -> None:
    """Before the operator signs in, the codec endpoint refuses the UI: the input shows sealed, the topic nowhere."""
    await page.goto(f"{ui_url}/namespaces/default/workflows/{wf_id}")
    await expect(page.locator("#content").get_by_text("Codec Server could not connect")).to_be_visible(timeout=WAIT_MS)
    workflow_input = page.get_by_test_id("input-and-result").locator(".cm-editor").nth(0)
    await expect(workflow_input).to_have_text(re.compile(r"\S{40}"), timeout=WAIT_MS)  # the sealed bytes, as base64
    await expect(workflow_input).not_to_contain_text('"artifact_dir"')
    await expect(page.locator("body")).not_to_contain_text(request.topic)


async def sign_in(page: Page, settings: Settings) -> None:
    """The API's sign-in page, with the local admin key: the browser gets its session cookie."""
    await page.goto(f"http://127.0.0.1:{settings.api_port}/auth/sign-in")
    await page.get_by_label("API key").fill(admin_headers(settings)["X-API-Key"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("status")).to_have_text(re.compile("Signed in as .*admin"), timeout=WAIT_MS)


def assert_nothing_in_clear(db_dir: Path, request: VideoRequest, wf_id: str) -> None:
    """Every file of the dev server's database (the SQLite file, its WAL and shared memory): the workflow id is there
    in clear (so the scan reads what the server wrote), the topic in no form the payloads could hold."""
    files = [path for path in db_dir.iterdir() if path.is_file()]
    contents = b"".join(path.read_bytes() for path in files)
    assert wf_id.encode() in contents, f"the scan of {[p.name for p in files]} did not find the workflow id"
    for form in (request.topic.encode(), request.topic.encode("utf-16-le"), request.user_id.encode()):
        assert form not in contents, f"{form!r} is stored in clear in {db_dir}"
