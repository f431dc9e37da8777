"""bench/analytics_chart: the README's picture of "How your videos perform".

Four channels make two videos a day for 30 days on a scratch PostgreSQL: each video's charges go in the ledger and
its YouTube days (views decaying after the upload, revenue at the channel's RPM) in `youtube_video_days`, as the
collection Schedules would write them; the real daily rollup runs over the month; then the figures GET /analytics
answers (the same ledger queries) are drawn as SVG and photographed in headless Chromium.

.venv/bin/python bench/analytics_chart.py [--out docs/images/analytics.png]
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import run_in_scratch_dir, scratch_ledger  # noqa: E402
from core.domain import VideoRequest  # noqa: E402
from core.records import CostLine  # noqa: E402
from core.youtube_metrics import UploadedVideo, VideoDay  # noqa: E402
from ledger import Ledger, performance  # noqa: E402

DAYS = 30
# name, revenue per 1000 views (news is not monetised), views on a video's first day, cost of a video
CHANNELS = [("science", 3.0, 400, 0.62), ("history", 2.0, 250, 0.55), ("gaming", 0.8, 300, 0.48),
            ("news", 0.0, 80, 0.71)]  # fmt: skip
COLOURS = ["#2f6fdf", "#e07b28", "#2a9d62", "#c0392b"]


async def bench(args: argparse.Namespace, root: Path) -> None:
    async with scratch_ledger(root) as ledger:
        page = await figures_page(ledger)
    await photograph(page, root / "analytics.html", Path(args.out))


async def figures_page(ledger: Ledger) -> str:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=DAYS)
    ids = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"ytempire/bench/{name}")) for name, *_ in CHANNELS}
    for name, rpm, first_day_views, cost in CHANNELS:
        for d in range(DAYS):
            for k in range(2):
                request = VideoRequest(
                    video_id=str(uuid.uuid4()), topic=f"{name} {d}/{k}", channel_id=ids[name], user_id=ids[name]
                )
                await ledger.admit(request, {"topic": request.topic}, capacity=sys.maxsize, idempotency_key=None)
                uploaded = start + timedelta(days=d, hours=9 + 6 * k)
                await ledger.record_stage_cost(request.video_id, "video_rendering", CostLine("compute", "render", cost))
                await ledger.pool.execute(
                    "UPDATE pipeline_costs SET timestamp = $1 WHERE video_id = $2",
                    uploaded,
                    uuid.UUID(request.video_id),
                )
                video = UploadedVideo(request.video_id, ids[name], f"yt-{request.video_id[:8]}", uploaded)
                days = [
                    VideoDay(video.youtube_video_id, (uploaded + timedelta(days=a)).date(), views,
                             views * 0.55, 38.0, views // 200, views // 400, round(views * rpm / 1000, 4))
                    for a in range(DAYS - d)
                    if (views := int(first_day_views / (1 + a) ** 1.3)) > 0
                ]  # fmt: skip
                await ledger.record_video_days(video, days)
    await ledger.roll_up("day", start, today)
    totals = await performance.channel_totals(ledger.pool, "day", start, today)
    series = {name: await performance.channel_series(ledger.pool, uuid.UUID(ids[name]), "day", start, today)
              for name, *_ in CHANNELS}  # fmt: skip
    names = {ids[name]: name for name, *_ in CHANNELS}
    return page_html(
        [(names[t.channel_id], t.revenue_usd or 0.0, t.cost_usd, t.margin_usd) for t in totals],
        {name: [(b.bucket, b.views, b.margin_usd) for b in buckets] for name, buckets in series.items()},
        start,
        today,
    )


def page_html(
    totals: list[tuple[str, float, float, float]],
    series: dict[str, list[tuple[datetime, int, float]]],
    start: datetime,
    end: datetime,
) -> str:
    bars = bar_chart(totals)
    views = line_chart({n: [(t, float(v)) for t, v, _ in s] for n, s in series.items()}, start, end, "views per day")
    margin = line_chart({n: [(t, m) for t, _, m in s] for n, s in series.items()}, start, end, "margin per day, USD")
    legend = "".join(
        f'<span><i style="background:{c}"></i>{html.escape(n)}</span>'
        for (n, *_), c in zip(CHANNELS, COLOURS, strict=True)
    )
    return f"""<!doctype html><meta charset="utf-8"><style>
body{{font:14px system-ui,sans-serif;margin:16px;background:#fff;color:#222;width:1168px}}
h1{{font-size:18px;margin:0 0 4px}} p{{margin:0 0 12px;color:#555}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:12px}}
figure{{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px}} figcaption{{font-weight:600;margin-bottom:4px}}
.legend span{{margin-right:14px}} .legend i{{display:inline-block;width:10px;height:10px;margin-right:4px}}
</style><h1>How your videos perform: four channels, two videos a day, {DAYS} days</h1>
<p>From GET /analytics/channels and /analytics/channels/&lbrace;id&rbrace;/series over the daily rollups
(bench/analytics_chart.py: synthetic YouTube days, real ledger, real rollup). <span class="legend">{legend}</span></p>
<div class="grid">
<figure><figcaption>Last {DAYS} days per channel: revenue, cost, margin (USD)</figcaption>{bars}</figure>
<figure><figcaption>Margin per day (USD)</figcaption>{margin}</figure>
<figure><figcaption>Views per day</figcaption>{views}</figure>
<figure><figcaption>Ranked by margin</figcaption>{table(totals)}</figure></div>"""


def bar_chart(totals: list[tuple[str, float, float, float]]) -> str:
    width, height, pad = 560, 260, 40
    top = max(max(r, c) for _, r, c, _ in totals)
    low = min(0.0, *(m for *_, m in totals))
    scale = (height - 2 * pad) / (top - low)
    zero = height - pad + low * scale
    parts = [f'<line x1="{pad}" x2="{width - 10}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#888"/>']
    group = (width - pad - 10) / len(totals)
    for i, (name, revenue, cost, margin) in enumerate(totals):
        x0 = pad + i * group + 8
        for j, (value, colour) in enumerate(((revenue, "#2a9d62"), (cost, "#c0392b"), (margin, "#2f6fdf"))):
            y = zero - max(value, 0) * scale
            h = abs(value) * scale
            parts.append(f'<rect x="{x0 + j * 30:.1f}" y="{y:.1f}" width="26" height="{h:.1f}" fill="{colour}"/>')
        parts.append(f'<text x="{x0 + 40:.1f}" y="{height - 8}" text-anchor="middle">{html.escape(name)}</text>')
    parts.append('<text x="8" y="16" fill="#2a9d62">revenue</text><text x="80" y="16" fill="#c0392b">cost</text>'
                 '<text x="130" y="16" fill="#2f6fdf">margin</text>')  # fmt: skip
    return f'<svg width="{width}" height="{height}">{"".join(parts)}</svg>'


def line_chart(series: dict[str, list[tuple[datetime, float]]], start: datetime, end: datetime, unit: str) -> str:
    width, height, pad = 560, 260, 40
    values = [v for points in series.values() for _, v in points]
    top, low = max(values), min(0.0, *values)
    span = (end - start).total_seconds()

    def xy(t: datetime, v: float) -> str:
        x = pad + (t - start).total_seconds() / span * (width - pad - 10)
        y = height - pad - (v - low) / (top - low) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    parts = [f'<text x="{pad}" y="16" fill="#555">{html.escape(unit)} (max {top:,.0f})</text>']
    if low < 0:
        parts.append(f'<polyline points="{xy(start, 0)} {xy(end, 0)}" stroke="#888" fill="none"/>')
    for (name, points), colour in zip(series.items(), COLOURS, strict=False):
        line = " ".join(xy(t, v) for t, v in points)
        parts.append(f'<polyline points="{line}" stroke="{colour}" stroke-width="2" fill="none"><title>{name}</title>'
                     "</polyline>")  # fmt: skip
    parts.append(f'<text x="{pad}" y="{height - 8}">{start.date()}</text>'
                 f'<text x="{width - 10}" y="{height - 8}" text-anchor="end">{end.date()}</text>')  # fmt: skip
    return f'<svg width="{width}" height="{height}">{"".join(parts)}</svg>'


def table(totals: list[tuple[str, float, float, float]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>${r:,.2f}</td><td>${c:,.2f}</td><td><b>{usd(m)}</b></td></tr>"
        for n, r, c, m in totals
    )
    return ('<table style="width:100%;border-collapse:collapse" cellpadding="6"><tr style="text-align:left">'
            f"<th>channel</th><th>revenue</th><th>cost</th><th>margin</th></tr>{rows}</table>")  # fmt: skip


def usd(value: float) -> str:
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


async def photograph(page: str, html_path: Path, out: Path) -> None:
    from playwright.async_api import async_playwright

    html_path.write_text(page)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            tab = await browser.new_page(viewport={"width": 1200, "height": 720}, device_scale_factor=1)
            await tab.goto(html_path.as_uri())
            out.parent.mkdir(parents=True, exist_ok=True)
            await tab.screenshot(path=str(out), full_page=True)
        finally:
            await browser.close()
    print(json.dumps({"image": str(out)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs/images/analytics.png"))
    args = parser.parse_args()
    run_in_scratch_dir(bench, args, "ytempire-chart-")


if __name__ == "__main__":
    main()
