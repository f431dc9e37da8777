"""The operator's console at / in Debian's Chromium against the real API (uvicorn, PostgreSQL, the Temporal dev
server): signing in with the API's own keys, a video queued through the form (the API's 422 shown at its field) and
followed live in the queue, then cancelled; a viewer sees no control; at 375 px nothing scrolls sideways, every
control has a name and is reached by the keyboard, and live progress shifts no layout. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from api.credentials import new_api_key
from core.principals import Role
from core.settings import Settings
from ledger import Ledger
from tests.admission import admitted_video
from tests.api.test_stream import serving
from tests.integration import conftest as integration
from tests.integration.conftest import admin_headers, running_workers
from tests.ui.test_temporal_ui import CHROMIUM, CHROMIUM_ARGS

settings = integration.settings
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
WAIT_MS = 15_000
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

# Every layout shift the page reports, summed (the Layout Instability API, as Lighthouse's CLS reads it).
WATCH_LAYOUT_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
}).observe({type: "layout-shift", buffered: false});
"""
# What each focusable control is called (its label, aria-label or text) and whether it can be seen.
CONTROLS = """
() => [...document.querySelectorAll("a[href], button, input, select, textarea")]
  .filter((el) => el.offsetParent !== null && !el.closest("[hidden]") && !el.closest("dialog:not([open])"))
  .map((el) => ({
    id: el.id || el.textContent.trim(),
    name: (el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].textContent) ||
           el.textContent || "").trim(),
  }))
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (devstack/ensure-system-packages.sh installs chromium)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def sign_in(page: Page, base_url: str, key: str) -> None:
    await page.goto(base_url + "/")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("status")).to_contain_text("Signed in as", timeout=WAIT_MS)


async def tab_through(page: Page, wanted: set[str], most: int = 60) -> list[str]:
    """The controls the Tab key reaches, in order, until it has reached every one `wanted` (or pressed `most`
    times: a player's own controls take several presses)."""
    reached: list[str] = []
    for _ in range(most):
        await page.keyboard.press("Tab")
        reached.append(await page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if wanted <= set(reached):
            break
    return reached


async def assert_usable(page: Page, width: int) -> None:
    """Nothing scrolls sideways, and every visible control has a name and is reached by Tab."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    controls = await page.evaluate(CONTROLS)
    assert controls and all(c["name"] for c in controls), controls
    reached = await tab_through(page, {c["id"] for c in controls})
    missing = [c["id"] for c in controls if c["id"] not in reached]
    assert not missing, (missing, reached)


async def test_an_operator_queues_a_video_through_the_form_follows_it_and_cancels_it(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, browser: Browser
) -> None:
    channel, user = str(uuid.uuid4()), str(uuid.uuid4())
    async with running_workers(dev_env, settings, ledger), serving(settings) as served:
        base_url = str(served.http.base_url).rstrip("/")
        key = admin_headers(settings)["X-API-Key"]
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.add_init_script(WATCH_LAYOUT_SHIFTS)
        await sign_in(page, base_url, key)
        await expect(page.get_by_role("heading", name="Queue")).to_be_visible()

        await page.get_by_role("link", name="New video").click()
        await page.get_by_label("Topic").fill("octopus hearts")
        await page.get_by_label("Channel Id").fill(channel)
        await page.get_by_label("User Id").fill(user)
        await page.get_by_label("Duration Seconds").fill("180")  # long enough to be cancelled while it runs
        await page.get_by_label("Priority").fill("11")
        await page.get_by_role("button", name="Queue the video").click()
        priority = page.get_by_label("Priority")
        await expect(priority).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
        await expect(page.locator("#field-priority-error")).to_contain_text("less than or equal to 10")
        await assert_usable(page, PHONE["width"])
        await shot(page, "new-video-refused-375")

        await priority.fill("7")
        await page.get_by_role("button", name="Queue the video").click()
        await expect(page.get_by_role("status")).to_contain_text("Queued “octopus hearts”", timeout=WAIT_MS)
        video_id = (await page.get_by_role("status").text_content() or "").rsplit(" ", 1)[1].rstrip(".")
        row = page.locator(f'#active li[data-video-id="{video_id}"]')
        await expect(row).to_contain_text("priority 7", timeout=WAIT_MS)
        # The status stream's pushes fill the figures as the workers make the video.
        await expect(row.locator(".figures")).to_contain_text("%", timeout=WAIT_MS)
        await expect(row.get_by_role("progressbar", name="Progress of octopus hearts")).to_be_visible()
        await assert_usable(page, PHONE["width"])
        await shot(page, "queue-375")
        await page.set_viewport_size(DESKTOP)
        await shot(page, "queue-desktop")

        # A few refreshes and stream pushes later, nothing has moved.
        await page.wait_for_timeout(6000)
        await expect(row.locator(".badge")).to_contain_text("processing")
        shifts = await page.evaluate("window.__shifts")
        assert sum(shifts) == 0, shifts

        page.once("dialog", lambda dialog: dialog.accept())
        await row.get_by_role("button", name="Cancel: octopus hearts").click()
        await expect(page.get_by_role("status")).to_contain_text("Cancelling", timeout=WAIT_MS)
        await expect(row).to_have_count(0, timeout=WAIT_MS)
        status = await served.http.get(f"/pipeline/status/{video_id}")
        assert status.json()["status"] == "cancelled"
        await context.close()


async def test_a_viewer_sees_the_queue_without_controls(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, browser: Browser
) -> None:
    key = new_api_key()
    await ledger.create_key(key.id, f"console-viewer-{key.id}", key.sha256, Role.VIEWER)
    failed = await admitted_video(ledger, "a failed one")
    await ledger.finalize(failed.video_id, "failed", "StageTimeout", "rendering took too long")
    async with serving(settings) as served:
        base_url = str(served.http.base_url).rstrip("/")
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, base_url, key.value)
        await expect(page.get_by_role("status")).to_contain_text("(viewer)")
        row = page.locator(f'#failed li[data-video-id="{failed.video_id}"]')
        await expect(row).to_contain_text("StageTimeout", timeout=WAIT_MS)
        await expect(row.get_by_role("button")).to_have_count(0)
        await expect(page.get_by_role("link", name="New video")).to_be_hidden()
        await page.goto(base_url + "/#new")
        await expect(page.get_by_role("heading", name="Queue")).to_be_visible(timeout=WAIT_MS)
        await expect(page.get_by_role("heading", name="New video")).to_be_hidden()
        await shot(page, "queue-viewer")

        # The API, not the page, is what refuses: the viewer's own credential cannot retry.
        refused = await page.evaluate(
            """async (videoId) => (await fetch(`/pipeline/retry/${videoId}`, {method: "POST",
                 headers: {"Authorization": "Bearer " + sessionStorage.getItem("ytempire.credential")}})).status""",
            failed.video_id,
        )
        assert refused == 403

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('ytempire.credential')") is None


async def test_a_video_goes_from_the_form_to_the_player(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, browser: Browser
) -> None:
    async with running_workers(dev_env, settings, ledger), serving(settings) as served:
        base_url = str(served.http.base_url).rstrip("/")
        page = await browser.new_page(viewport=PHONE)
        ranges: list[int] = []
        page.on("response", lambda r: ranges.append(r.status) if r.url.endswith("/files/video.mp4") else None)
        await sign_in(page, base_url, admin_headers(settings)["X-API-Key"])
        await page.get_by_role("link", name="New video").click()
        await page.get_by_label("Topic").fill("tide pools")
        await page.get_by_label("Channel Id").fill(str(uuid.uuid4()))
        await page.get_by_label("User Id").fill(str(uuid.uuid4()))
        await page.get_by_label("Duration Seconds").fill("30")
        await page.get_by_role("button", name="Queue the video").click()
        await expect(page.get_by_role("status")).to_contain_text("Queued “tide pools”", timeout=WAIT_MS)
        video_id = (await page.get_by_role("status").text_content() or "").rsplit(" ", 1)[1].rstrip(".")

        finished = page.locator(f'#done li[data-video-id="{video_id}"]')
        await expect(finished).to_be_visible(timeout=240_000)
        await finished.get_by_role("link", name="tide pools").click()
        await expect(page.get_by_role("heading", name="tide pools (completed)")).to_be_visible(timeout=WAIT_MS)
        stages = page.locator("#video-stages tr[data-outcome='finished']")
        await expect(stages).to_have_count(6)
        await expect(page.locator("#video-cost")).to_contain_text(" of $")
        await expect(page.locator("#video-youtube")).to_contain_text("Title")
        temporal = await page.get_by_role("link", name="Open its workflow in the Temporal UI").get_attribute("href")
        assert temporal is not None and temporal.endswith(f"/workflows/video-{video_id}")

        player = page.get_by_label("The finished video")
        await page.wait_for_function("document.getElementById('video-player').readyState >= 1", timeout=WAIT_MS)
        length = await player.evaluate("v => v.duration")
        assert 25 < length < 40, length
        # Seeking asks the API for the bytes from there: a range request, answered 206.
        await player.evaluate(
            """v => new Promise((done) => { v.addEventListener("seeked", done, {once: true});
                                          v.currentTime = v.duration * 0.8; })"""
        )
        assert 206 in ranges, ranges
        await assert_usable(page, PHONE["width"])
        await shot(page, "video-375")
        await page.set_viewport_size(DESKTOP)
        await shot(page, "video-desktop")
