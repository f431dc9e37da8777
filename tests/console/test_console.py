"""The operator's console at / in Debian's Chromium against the real API (uvicorn, PostgreSQL, the Temporal dev
server): signing in with the API's own keys, a video queued through the form (the API's 422 shown at its field) and
followed live in the queue, then cancelled; a viewer sees no control; at 375 px nothing scrolls sideways, every
control has a name and is reached by the keyboard, and live progress shifts no layout. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from api.credentials import Passwords, new_api_key
from core.domain import VideoRequest
from core.principals import Role
from core.settings import Settings
from core.youtube_metrics import UploadedVideo, VideoDay
from ledger import Ledger
from tests.admission import admit, admitted_video, finished_video
from tests.api.test_stream import serving
from tests.browser import chromium
from tests.integration import conftest as integration
from tests.integration.conftest import admin_headers, running_workers
from tests.integration.test_cost_control import PRICES as HALTING_PRICES
from tests.integration.test_end_to_end import wait_final
from tests.ledger.test_rollups import charge

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
# What scrolls sideways, to say where when something does.
OVERFLOWING = """
[...document.querySelectorAll("html, body, body *")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "hidden")
  .map((el) => `${el.tagName}#${el.id}: ${el.scrollWidth}/${el.clientWidth}`)
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
    async with chromium() as launched:
        yield launched


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def sign_in(page: Page, base_url: str, key: str) -> None:
    await page.goto(base_url + "/")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("status")).to_contain_text("Signed in as", timeout=WAIT_MS)


async def tab_through(page: Page, wanted: set[str], controls: int) -> list[str]:
    """The controls the Tab key reaches, in order, until it has reached every one `wanted` (or pressed Tab once for
    each of the page's `controls` and 30 more: a player's own controls take several presses)."""
    reached: list[str] = []
    for _ in range(controls + 30):
        await page.keyboard.press("Tab")
        reached.append(await page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if wanted <= set(reached):
            break
    return reached


async def usable_at_both_sizes(page: Page, name: str) -> None:
    """Usable at 375 px (screenshot `<name>-375`), then a desktop's screenshot (`<name>-desktop`)."""
    await assert_usable(page, PHONE["width"])
    await shot(page, f"{name}-375")
    await page.set_viewport_size(DESKTOP)
    await shot(page, f"{name}-desktop")


async def assert_usable(page: Page, width: int) -> None:
    """Nothing scrolls sideways, and every visible control has a name and is reached by Tab."""
    wide = await page.evaluate(OVERFLOWING)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, wide
    controls = await page.evaluate(CONTROLS)
    assert controls and all(c["name"] for c in controls), controls
    reached = await tab_through(page, {c["id"] for c in controls}, len(controls))
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
        await usable_at_both_sizes(page, "queue")

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
    ids = [str(uuid.uuid4()) for _ in range(3)]
    untitled = VideoRequest(video_id=ids[0], topic="", channel_id=ids[1], user_id=ids[2])
    await admit(ledger, untitled, {})  # a row from before requests were kept: no topic in it
    await ledger.finalize(untitled.video_id, "failed", "StageTimeout", "rendering took too long")
    async with serving(settings) as served:
        base_url = str(served.http.base_url).rstrip("/")
        page = await browser.new_page(viewport=DESKTOP)
        await sign_in(page, base_url, key.value)
        await expect(page.get_by_role("status")).to_contain_text("(viewer)")
        row = page.locator(f'#failed li[data-video-id="{failed.video_id}"]')
        await expect(row).to_contain_text("StageTimeout", timeout=WAIT_MS)
        await expect(row.get_by_role("button")).to_have_count(0)
        named_by_id = page.locator(f'#failed li[data-video-id="{untitled.video_id}"]')
        await expect(named_by_id.get_by_role("link", name=f"video {untitled.video_id[:8]}")).to_be_visible()
        link = row.get_by_role("link", name="a failed one")
        await link.focus()
        await page.wait_for_timeout(6000)  # a refresh of the lists later, the keyboard is where it was
        await expect(link).to_be_focused()
        await expect(page.get_by_role("link", name="New video")).to_be_hidden()
        await page.goto(base_url + "/#new")
        await expect(page.get_by_role("heading", name="Queue")).to_be_visible(timeout=WAIT_MS)
        await expect(page.get_by_role("heading", name="New video")).to_be_hidden()
        await shot(page, "queue-viewer")

        # The API, not the page, is what refuses: the viewer's own credential cannot retry.
        refused = await page.evaluate(
            """async (videoId) => (await fetch(`/pipeline/retry/${videoId}`, {method: "POST",
                 headers: {"Authorization": "Bearer " +
                           JSON.parse(sessionStorage.getItem("ytempire.credential")).bearer}})).status""",
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

        # Its page while it is being made: it follows the video until the video is done.
        await page.locator(f'#active li[data-video-id="{video_id}"]').get_by_role("link", name="tide pools").click()
        await expect(
            page.get_by_role("heading", name=re.compile(r"tide pools \((queued|processing)\)"))
        ).to_be_visible()
        await expect(page.get_by_role("heading", name="tide pools (completed)")).to_be_visible(timeout=240_000)
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
        await usable_at_both_sizes(page, "video")


async def test_an_operator_approves_a_halted_video_and_retries_a_failed_one_by_keyboard(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, browser: Browser
) -> None:
    priced = settings.model_copy(update={"stage_price_overrides": HALTING_PRICES})
    request = {"topic": "costly reef", "channel_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()),
               "duration_seconds": 30}  # fmt: skip
    page = await browser.new_page(viewport=PHONE)
    async with running_workers(dev_env, priced, ledger), serving(priced) as served:
        base_url = str(served.http.base_url).rstrip("/")
        video_id = (await served.http.post("/pipeline/queue", json=request)).json()["video_id"]
        await sign_in(page, base_url, admin_headers(settings)["X-API-Key"])
        halted = page.locator(f'#halted li[data-video-id="{video_id}"]')
        await expect(halted).to_contain_text("would cross the cap $3.00", timeout=120_000)
        await assert_usable(page, PHONE["width"])
        await shot(page, "halted-375")

        await halted.get_by_role("button", name="Approve budget: costly reef").focus()
        await page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Approve a higher budget")
        await expect(dialog).to_contain_text("has spent $3.00 of its $3.00 cap")
        await page.keyboard.type("2")  # the cap field has the focus
        await page.keyboard.press("Tab")
        await page.keyboard.type("too little")
        await page.keyboard.press("Enter")
        await expect(page.locator("#approve-cap-error")).to_contain_text("above the current cap", timeout=WAIT_MS)
        await shot(page, "approve-refused-375")
        await page.get_by_label("New cap (USD)").fill("4")
        await page.get_by_label("Reason").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("the cap is now $4.00", timeout=WAIT_MS)
        await expect(dialog).to_be_hidden()
        await expect(page.locator(f'#done li[data-video-id="{video_id}"]')).to_be_visible(timeout=240_000)

    broken = settings.model_copy(update={"render_preset": "no-such-preset"})  # ffmpeg rejects it: render fails
    manual = settings.model_copy(update={"automatic_video_retries": False})  # the operator retries
    async with running_workers(dev_env, broken, ledger), serving(manual) as served:
        # Another server, another origin: the tab signs in to it.
        await sign_in(page, str(served.http.base_url).rstrip("/"), admin_headers(settings)["X-API-Key"])
        video_id = (await served.http.post("/pipeline/queue", json={**request, "topic": "broken reef"})).json()[
            "video_id"
        ]
        failed = page.locator(f'#failed li[data-video-id="{video_id}"]')
        await expect(failed).to_contain_text("FFmpegError in video_rendering", timeout=240_000)
        await shot(page, "failed-375")
    async with running_workers(dev_env, settings, ledger), serving(manual) as served:  # the operator fixed it
        await sign_in(page, str(served.http.base_url).rstrip("/"), admin_headers(settings)["X-API-Key"])
        retry = page.locator(f'#failed li[data-video-id="{video_id}"]').get_by_role("button", name="Retry: broken reef")
        await retry.focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text(
            "Retrying “broken reef” (attempt 2) from video_rendering", timeout=WAIT_MS
        )
        await expect(page.locator(f'#done li[data-video-id="{video_id}"]')).to_be_visible(timeout=240_000)
    await page.close()


async def test_a_file_of_videos_is_checked_row_by_row_then_queued_once(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, browser: Browser, tmp_path: Path
) -> None:
    channel = str(uuid.uuid4())
    header = "topic,channel_id,user_id,priority,duration_seconds\n"
    rows = [f'"reefs, {n}",{channel},{uuid.uuid4()},{p},180\n' for n, p in ((1, 5), (2, 11), (3, 7))]
    bad, good = tmp_path / "bad.csv", tmp_path / "videos.csv"
    bad.write_text(header + "".join(rows))
    good.write_text(header + rows[0] + rows[2])
    async with running_workers(dev_env, settings, ledger), serving(settings) as served:
        base_url = str(served.http.base_url).rstrip("/")
        page = await browser.new_page(viewport=PHONE)
        await sign_in(page, base_url, admin_headers(settings)["X-API-Key"])
        await page.get_by_role("link", name="New video").click()
        results = page.locator("#batch-results tbody tr")
        try:
            await page.get_by_label("CSV or JSON Lines file").set_input_files(bad)
            await page.get_by_role("button", name="Queue the file").click()
            await expect(results).to_have_count(1, timeout=WAIT_MS)
            await expect(results.first).to_contain_text("3invalidpriority: Input should be less than or equal to 10")
            listed = await served.http.get("/pipeline/videos", params={"channel_id": channel})
            assert listed.json()["videos"] == [], "nothing of a file with a bad row is queued"

            await page.get_by_label("CSV or JSON Lines file").set_input_files(good)
            await page.get_by_role("button", name="Queue the file").click()
            await expect(page.get_by_role("status")).to_contain_text("2 of 2 videos", timeout=WAIT_MS)
            await expect(results).to_have_count(2)
            assert [await r.locator("td").nth(1).text_content() for r in await results.all()] == ["created"] * 2
            await shot(page, "batch-375")
            await page.get_by_role("button", name="Queue the file").click()  # the same file again
            await expect(results.nth(1)).to_contain_text("repeated", timeout=WAIT_MS)
            await expect(results.first).to_contain_text("repeated")
            listed = await served.http.get("/pipeline/videos", params={"channel_id": channel})
            assert sorted(v["topic"] for v in listed.json()["videos"]) == ["reefs, 1", "reefs, 3"]
        finally:
            listed = await served.http.get("/pipeline/videos", params={"channel_id": channel})
            for video in listed.json()["videos"]:
                await served.http.post(f"/pipeline/cancel/{video['video_id']}")
            for video in listed.json()["videos"]:
                await wait_final(served.http, video["video_id"])


async def test_costs_and_margins_are_charted_from_the_analytics(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, pg_pool: asyncpg.Pool, browser: Browser
) -> None:
    video = await finished_video(ledger, "charted reef")
    # A day inside the console's 30 days, outside the week tests/integration/test_youtube_collection.py rolls up.
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=12)
    await charge(ledger, pg_pool, video.video_id, "script_generation", "openai", 0.25, day + timedelta(hours=3))
    await charge(ledger, pg_pool, video.video_id, "audio_synthesis", "elevenlabs", 0.5, day + timedelta(hours=4))
    uploaded = UploadedVideo(video.video_id, video.channel_id, f"yt-{video.video_id[:8]}", day)
    await ledger.record_video_days(
        uploaded, [VideoDay(uploaded.youtube_video_id, day.date(), 420, 90.0, 30.0, 1, 2, 2.0)]
    )
    await ledger.roll_up("day", day, day + timedelta(days=1))
    channel = video.channel_id[:8]
    async with serving(settings) as served:
        page = await browser.new_page(viewport=PHONE)
        await sign_in(page, str(served.http.base_url).rstrip("/"), admin_headers(settings)["X-API-Key"])
        await page.get_by_role("link", name="Costs").click()
        spend = page.get_by_role("img", name="Spend per channel")
        await expect(spend).to_have_attribute("aria-label", re.compile(rf"{channel} \$0\.75"), timeout=WAIT_MS)
        margins = page.locator("#chart-margin")
        await margins.get_by_text("Views, revenue, cost and margin per channel as a table").click()
        row = margins.get_by_role("row").filter(has_text=channel)
        await expect(row).to_have_text(re.compile(rf"{channel}\s*420\s*\$2\.00\s*\$0\.75\s*\$1\.25"))
        services = await page.get_by_role("img", name="Spend per service").get_attribute("aria-label")
        assert services is not None and "openai" in services and "elevenlabs" in services
        await usable_at_both_sizes(page, "costs")


async def test_a_password_sign_in_outlives_its_access_tokens(
    settings: Settings, dev_env: WorkflowEnvironment, ledger: Ledger, browser: Browser
) -> None:
    brief = settings.model_copy(update={"access_token_minutes": 0.05})  # 3 s
    name, password = f"maria-{uuid.uuid4().hex[:8]}", "a long enough passphrase"
    await ledger.create_user(name, Passwords().hash(password), Role.OPERATOR)
    async with serving(brief) as served:
        page = await browser.new_page(viewport=DESKTOP)
        refreshed: list[int] = []
        page.on("response", lambda r: refreshed.append(r.status) if r.url.endswith("/auth/token") else None)
        await page.goto(str(served.http.base_url).rstrip("/") + "/")
        await page.get_by_label("User name").fill(name)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("status")).to_contain_text(f"Signed in as {name} (operator)", timeout=WAIT_MS)
        first = await page.evaluate("JSON.parse(sessionStorage.getItem('ytempire.credential')).bearer")

        await page.wait_for_timeout(8000)  # the queue is read every 5 s: its token has expired by then
        assert refreshed.count(200) >= 2, refreshed  # the sign-in, then at least one refresh
        await expect(page.get_by_role("status")).not_to_contain_text("expired")
        assert await page.evaluate("JSON.parse(sessionStorage.getItem('ytempire.credential')).bearer") != first
        await page.reload()
        await expect(page.get_by_role("heading", name="Queue")).to_be_visible(timeout=WAIT_MS)
        await page.wait_for_timeout(4000)
        await page.get_by_role("link", name="New video").click()
        await page.get_by_label("Topic").fill("x")  # too short: the API, having let the operator in, refuses it
        await page.get_by_role("button", name="Queue the video").click()
        await expect(page.locator("#field-topic-error")).to_contain_text("at least 3 characters", timeout=WAIT_MS)
