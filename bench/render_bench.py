"""Render benchmark: 60 s 1080x1920 from 6 stills with captions, hard cuts vs Ken Burns + crossfade, and with
three of the six slides as 1080p video clips (a user's own b-roll) instead of stills; then what loudness costs:
the measuring passes before each render (narration alone, and with a music track under it), the loudness they reach,
and the QA pass with and without its true-peak measurement.

Usage (from the repo root): .venv/bin/python bench/render_bench.py [--gpu] [--keep DIR] [--loudness-only]
[--voice WAV] (a real narration, e.g. Piper's, instead of the speech-like noise)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from engines.quality.signal import signal_argv  # noqa: E402
from engines.render import RenderPlan, choose_encoder, measure_levels, plan_stills, render  # noqa: E402

SECONDS = 60.0
SLIDES = [8.0, 12.0, 9.5, 10.5, 11.0, 9.0]  # uneven, like real narration; sums to 60
SIZES = [(1024, 1536), (1792, 1024), (1080, 1920), (1024, 1024), (1536, 1024), (896, 1600)]
PALETTE = [(200, 60, 40), (40, 120, 200), (60, 160, 80), (180, 140, 30), (120, 60, 170), (30, 150, 150)]

ASS_HEAD = """[Script Info]
ScriptType: v4.00+
PlayResX: 1080
PlayResY: 1920

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, \
MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,84,&H00FFFFFF,&H0000FFFF,&H00000000,&H80000000,1,0,0,0,100,100,0,0,1,5,2,2,80,80,420,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def make_inputs(root: Path) -> tuple[list[str], str, str]:
    """Six stills (gradients + shapes, mixed sizes), 60 s of mono 22.05 kHz audio, and 30 caption lines."""
    stills = []
    for i, ((w, h), (r, g, b)) in enumerate(zip(SIZES, PALETTE, strict=True)):
        img = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(img)
        for y in range(h):  # vertical gradient: smooth areas are where zoompan stepping shows
            t = y / h
            draw.line([(0, y), (w, y)], fill=(int(r * (1 - t)), int(g * (1 - t) + 80 * t), int(b + 40 * t)))
        for k in range(12):
            x0, y0 = (k * 97 + i * 31) % w, (k * 151 + i * 57) % h
            draw.ellipse([x0, y0, x0 + w // 6, y0 + w // 6], outline=(255, 255, 255), width=6)
        path = root / f"still{i}.png"
        img.save(path)
        stills.append(str(path))
    audio = root / "narration.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=220:duration={SECONDS}",
         "-ar", "22050", str(audio)],
        check=True,
    )  # fmt: skip
    captions = root / "captions.ass"
    lines = [
        f"Dialogue: 0,0:00:{2 * n:02d}.00,0:00:{2 * n + 2:02d}.00,Default,,0,0,0,,Caption line number {n + 1}"
        for n in range(30)
    ]
    captions.write_text(ASS_HEAD + "\n".join(lines) + "\n")
    return stills, str(audio), str(captions)


def make_clips(root: Path, count: int) -> list[str]:
    """1920x1080 25 fps clips of 6 s (shorter than their slots, so they loop), with a sound track to ignore."""
    clips = []
    for i in range(count):
        path = root / f"clip{i}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:duration=6",
             "-f", "lavfi", "-i", "sine=duration=6", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-shortest", str(path)],
            check=True,
        )  # fmt: skip
        clips.append(str(path))
    return clips


async def bench(root: Path, prefer_gpu: bool) -> None:
    stills, audio, captions = make_inputs(root)
    clips = make_clips(root, 3)
    with_clips = [clips[i // 2] if i % 2 else still for i, still in enumerate(stills)]
    encoder = choose_encoder(prefer_gpu)
    print(f"encoder: {encoder.name} ({encoder.reason}); cpus: {os.cpu_count()}")
    for label, media, motion, crossfade in [
        ("simple (loop + concat)", stills, False, 0.0),
        ("motion + 0.5 s xfade", stills, True, 0.5),
        ("simple, 3 of 6 clips", with_clips, False, 0.0),
        ("motion + xfade, 3 clips", with_clips, True, 0.5),
    ]:
        plan = RenderPlan(
            stills=plan_stills(SLIDES, media, crossfade),
            audio_path=audio,
            output_path=str(root / f"{label.split()[0].strip(',')}-{len(set(media) & set(clips))}.mp4"),
            captions_path=captions,
            motion=motion,
            crossfade=crossfade,
            encoder=encoder.name,
        )
        result = await render(plan)
        size_mb = os.path.getsize(result.output_path) / 1e6
        print(
            f"{label:24s} video {plan.duration:5.1f} s  wall {result.seconds_wall:6.1f} s  "
            f"realtime x{result.realtime_factor:4.1f}  {size_mb:5.1f} MB"
        )


def make_voice_and_music(root: Path) -> tuple[str, str]:
    """60 s of a speech-like voice (pink noise in syllables, a pause every 8 s; peaks 19 dB above its loudness, as
    speech's are) and a 45 s stereo music track (a chord over brown noise: shorter than the video, so it loops)."""
    voice, music = root / "speech_like.wav", root / "music.flac"
    envelope = "pow(abs(sin(PI*3*t)),16)*(0.4+0.6*abs(sin(5*t)))*lt(mod(t,8),7)"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"anoisesrc=c=pink:r=48000:d={SECONDS}:a=0.5:s=7",
         "-af", f"highpass=f=150,lowpass=f=5000,volume='{envelope}':eval=frame", "-ac", "1", str(voice)],
        check=True,
    )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=c=brown:r=48000:d=45:a=0.2:s=3",
         "-f", "lavfi", "-i", "sine=f=220:r=48000:d=45", "-f", "lavfi", "-i", "sine=f=277:r=48000:d=45",
         "-filter_complex", "[0][1][2]amix=inputs=3,pan=stereo|c0=c0|c1=c0", str(music)],
        check=True,
    )  # fmt: skip
    return str(voice), str(music)


def measured(path: str, *, true_peak: bool = True) -> tuple[float, float | None, float]:
    """(integrated LUFS, true peak dBTP, seconds) of the QA pass over `path` (blackdetect included)."""
    argv = signal_argv(path)
    if not true_peak:
        argv = [a.replace("peak=true", "peak=none") for a in argv]
    started = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
    seconds = time.monotonic() - started
    peak = re.findall(r"Peak:\s+(-?[\d.]+)", out)
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1]), float(peak[-1]) if peak else None, seconds


async def bench_loudness(root: Path, prefer_gpu: bool, narration: Path | None, runs: int = 3) -> None:
    stills, _, captions = make_inputs(root)
    voice, music = make_voice_and_music(root)
    if narration is not None:
        voice = str(narration.resolve())
    print(f"voice: {voice if narration else 'speech-like pink noise'}")
    encoder = choose_encoder(prefer_gpu)
    for label, track in [("narration alone", None), ("with music", music)]:
        plan = RenderPlan(
            stills=plan_stills(SLIDES, stills, 0.0),
            audio_path=voice,
            output_path=str(root / f"loudness-{'music' if track else 'voice'}.mp4"),
            captions_path=captions,
            encoder=encoder.name,
            music_path=track,
        )
        timings = []
        for _ in range(runs):
            started = time.monotonic()
            levels = await measure_levels(plan)
            timings.append(time.monotonic() - started)
        result = await render(dataclasses.replace(plan, levels=levels))
        lufs, peak, _ = measured(result.output_path)
        print(
            f"loudness passes, {label:15s} {statistics.median(timings):5.2f} s (median of {runs}) for "
            f"{plan.duration:.0f} s of video; render {result.seconds_wall:5.1f} s; "
            f"the MP4: {lufs:.1f} LUFS, {peak:.1f} dBTP"
        )
    with_peak = statistics.median(measured(result.output_path)[2] for _ in range(runs))
    without = statistics.median(measured(result.output_path, true_peak=False)[2] for _ in range(runs))
    print(f"QA pass over the 60 s MP4: {with_peak:.2f} s with the true peak, {without:.2f} s without")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="use h264_nvenc when available")
    parser.add_argument("--keep", type=Path, help="write inputs and outputs here instead of a temp dir")
    parser.add_argument("--loudness-only", action="store_true", help="only the loudness figures")
    parser.add_argument("--voice", type=Path, help="a narration WAV for the loudness figures")
    args = parser.parse_args()

    async def run(root: Path) -> None:
        if not args.loudness_only:
            await bench(root, args.gpu)
        await bench_loudness(root, args.gpu, args.voice)

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.keep))
        return
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        asyncio.run(run(Path(tmp)))


if __name__ == "__main__":
    main()
