"""GPU check: the encoder choice, NVENC vs libx264 on the same 60 s render, NVML telemetry during it, ffprobe.

Usage (from the repo root): .venv/bin/python bench/gpu_check.py [--seconds 60] [--ffmpeg-dir DIR] [--keep DIR]

It needs only the stdlib, ffmpeg-python, prometheus_client, Pillow and (for a GPU) nvidia-ml-py: no Temporal,
no settings. Without a GPU it renders with libx264 alone and shows the telemetry's clean "no GPU" path.

For each scenario of bench/render_bench.py (hard cuts; Ken Burns + crossfades; 1080x1920, captions, 6 stills):
  (a) choose_encoder(prefer_gpu=True) and its reason (with its tiny NVENC probe encode);
  (b) the render through our own plan/graph/runner with libx264 and, where ffmpeg lists it and NVML sees a GPU,
      with h264_nvenc: wall time, realtime factor, NVENC/libx264 ratio;
  (c) our GpuSampler reading NVML every 0.5 s during each render: utilisation, memory, encoder sessions and
      utilisation, the in-band gauge, and the Prometheus text of the ytempire_gpu_* series;
  (d) ffprobe of every output: h264, 1080x1920, yuv420p, duration, every frame decodable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from render_bench import SLIDES, make_inputs  # noqa: E402

from engines.render import FFmpegError, RenderPlan, choose_encoder, plan_stills, render  # noqa: E402
from engines.render.encoder import CPU_ENCODER, GPU_ENCODER, ffmpeg_encoders, nvenc_probe, nvml_gpu_count
from telemetry.gpu import GpuGauges, GpuSampler  # noqa: E402

SAMPLE_S = 0.5
SCENARIOS = {"simple": (False, 0.0), "motion": (True, 0.5)}  # name: (Ken Burns, crossfade seconds)
GPU_SERIES = (
    "ytempire_gpu_utilization_percent",
    "ytempire_gpu_memory_used_bytes",
    "ytempire_gpu_memory_total_bytes",
    "ytempire_gpu_encoder_sessions",
    "ytempire_gpu_encoder_utilization_percent",
    "ytempire_gpu_in_target_band",
)


@dataclass
class Telemetry:
    """What the sampler exported while one render ran."""

    available: str = ""  # the reason label of ytempire_gpu_available and its value, e.g. 'ok=1'
    samples: list[dict[str, float]] = field(default_factory=list)  # gpu="0" series per poll
    busiest_text: str = ""  # the ytempire_gpu_* exposition at the poll with the most encoder load

    def peak(self, name: str) -> float | None:
        values = [s[name] for s in self.samples if name in s]
        return max(values) if values else None

    def mean(self, name: str) -> float | None:
        values = [s[name] for s in self.samples if name in s]
        return sum(values) / len(values) if values else None


def gpu_text(registry: CollectorRegistry) -> str:
    """The ytempire_gpu_* samples as Prometheus exposition text (HELP/TYPE lines left out)."""
    text = generate_latest(registry).decode()
    return "\n".join(line for line in text.splitlines() if line.startswith("ytempire_gpu_"))


def gpu0(registry: CollectorRegistry) -> dict[str, float]:
    out = {}
    for name in GPU_SERIES:
        value = registry.get_sample_value(name, {"gpu": "0"})
        if value is not None:
            out[name.removeprefix("ytempire_gpu_")] = value
    return out


def available(registry: CollectorRegistry) -> str:
    for metric in registry.collect():
        if metric.name == "ytempire_gpu_available":
            return ", ".join(f"{s.labels['reason']}={s.value:g}" for s in metric.samples)
    return "(not set)"


async def sampled_render(plan: RenderPlan) -> tuple[Any, Telemetry]:
    """Render with our GpuSampler running (0.5 s interval) and a poller recording what it exported."""
    registry = CollectorRegistry()
    sampler = GpuSampler(GpuGauges(registry), interval_seconds=SAMPLE_S)
    telemetry = Telemetry()
    busiest = -1.0

    async def poll() -> None:
        nonlocal busiest
        while True:
            await asyncio.sleep(SAMPLE_S)
            snap = gpu0(registry)
            if snap:
                telemetry.samples.append(snap)
                load = snap.get("encoder_sessions", 0) * 1000 + snap.get("encoder_utilization_percent", 0)
                if load > busiest:
                    busiest, telemetry.busiest_text = load, gpu_text(registry)

    sampler.start()
    poller = asyncio.create_task(poll())
    try:
        result = await render(plan)
    finally:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        await sampler.aclose()
        telemetry.available = available(registry)
        if not telemetry.busiest_text:
            telemetry.busiest_text = gpu_text(registry)
    return result, telemetry


def ffprobe(path: str) -> dict[str, Any]:
    """Codec, size, pixel format, duration and decoded frame count of the video stream; audio codec."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,codec_name,width,height,pix_fmt,nb_read_frames:format=duration", "-of", "json", path],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    data = json.loads(out)
    video = next(s for s in data["streams"] if s["codec_type"] == "video")
    audio: dict[str, Any] = next((s for s in data["streams"] if s["codec_type"] == "audio"), {})
    return {
        "codec": video.get("codec_name"),
        "size": f"{video.get('width')}x{video.get('height')}",
        "pix_fmt": video.get("pix_fmt"),
        "frames": int(video.get("nb_read_frames", 0)),
        "duration": float(data["format"]["duration"]),
        "audio": audio.get("codec_name"),
    }


def ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False).stdout
    return out.split("\n")[0]


def nvml_info() -> list[str]:
    """GPU name, driver, memory and NVENC capacity straight from NVML (not via our code)."""
    try:
        import pynvml
    except ImportError:
        return ["NVML: nvidia-ml-py (pynvml) not installed"]
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [f"NVML: not available ({type(exc).__name__})"]
    lines = []
    try:
        lines.append(f"NVML: driver {pynvml.nvmlSystemGetDriverVersion()}, {pynvml.nvmlDeviceGetCount()} GPU(s)")
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            try:
                cap = f"{pynvml.nvmlDeviceGetEncoderCapacity(h, pynvml.NVML_ENCODER_QUERY_H264)} %"
            except pynvml.NVMLError as exc:
                cap = f"unreadable ({type(exc).__name__})"
            lines.append(
                f"  GPU {i}: {pynvml.nvmlDeviceGetName(h)}, {mem.total / 2**30:.1f} GiB, H.264 encoder capacity {cap}"
            )
    finally:
        pynvml.nvmlShutdown()
    return lines


def cuda_load(seconds: float, duty: float) -> str:
    """Busy the GPU `duty` of each 100 ms with torch matmuls for `seconds` (torch only: the device image has it)."""
    try:
        import torch
    except ImportError:
        return "torch not importable"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    a = torch.randn(4096, 4096, device="cuda")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        busy_until = time.monotonic() + 0.1 * duty
        while time.monotonic() < busy_until:
            a = (a @ a).clamp_(-1, 1)
            torch.cuda.synchronize()
        time.sleep(0.1 * (1 - duty))
    return "ran"


async def sampled_load(seconds: float, duty: float) -> None:
    """(c') our sampler while a synthetic CUDA load keeps the GPU busy about `duty` of the time."""
    registry = CollectorRegistry()
    sampler = GpuSampler(GpuGauges(registry), interval_seconds=SAMPLE_S)
    samples: list[dict[str, float]] = []
    sampler.start()
    load = asyncio.create_task(asyncio.to_thread(cuda_load, seconds, duty))
    while not load.done():
        await asyncio.sleep(SAMPLE_S)
        if snap := gpu0(registry):
            samples.append(snap)
    await sampler.aclose()
    outcome = load.result()
    if outcome != "ran":
        print(f"(c') synthetic CUDA load skipped: {outcome}")
        return
    utils = [s["utilization_percent"] for s in samples if "utilization_percent" in s]
    in_band = sum(s.get("in_target_band", 0) for s in samples)
    print(
        f"(c') synthetic CUDA load, {duty:.0%} duty for {seconds:g} s: utilisation samples "
        f"{' '.join(f'{u:g}' for u in utils)}; in band in {in_band:g} of {len(samples)} samples"
    )
    print("\n".join(f"      {line}" for line in gpu_text(registry).splitlines()))


def fmt(value: float | None, unit: str = "", scale: float = 1.0) -> str:
    return "n/a" if value is None else f"{value / scale:.1f}{unit}"


async def check(root: Path, seconds: float, scenarios: list[str], load_seconds: float) -> dict[str, Any]:
    summary: dict[str, Any] = {"renders": []}
    ffmpeg = shutil.which("ffmpeg")
    print(f"ffmpeg: {ffmpeg} ({ffmpeg_version()}); lists {GPU_ENCODER}: {GPU_ENCODER in ffmpeg_encoders()}")
    print(f"cpus: {os.cpu_count()}")
    for line in nvml_info():
        print(line)
    summary["nvml"] = nvml_info()

    choice = choose_encoder(prefer_gpu=True)
    print(f"(a) choose_encoder(prefer_gpu=True): {choice.name} ({choice.reason})")
    summary["choice"] = {"name": choice.name, "gpu": choice.gpu, "reason": choice.reason}
    gpus, why = nvml_gpu_count()
    try_nvenc = GPU_ENCODER in ffmpeg_encoders() and gpus > 0
    if try_nvenc:
        probe = nvenc_probe() or "ok"
        print(f"    NVENC probe encode (what choose_encoder runs): {probe}")
        summary["nvenc_probe"] = probe
    else:
        reason = why or f"ffmpeg does not list {GPU_ENCODER}"
        print(f"    NVENC renders skipped: {reason}; libx264 only")
        summary["nvenc_probe"] = f"skipped: {reason}"

    scale = seconds / sum(SLIDES)
    slides = [d * scale for d in SLIDES]
    stills, audio, captions = make_inputs(root)
    if seconds != sum(SLIDES):  # make_inputs writes 60 s of audio; the plan sets the length
        print(f"    (slides scaled to {seconds:g} s)")
    print("(b) renders through RenderPlan -> build_argv -> render() (the worker's path)")
    encoders = [CPU_ENCODER] + ([GPU_ENCODER] if try_nvenc else [])
    failures = 0
    shown = False
    for scenario in scenarios:
        motion, crossfade = SCENARIOS[scenario]
        walls: dict[str, float] = {}
        for encoder in encoders:
            plan = RenderPlan(
                stills=plan_stills(slides, stills, crossfade),
                audio_path=audio,
                output_path=str(root / f"{scenario}-{encoder}.mp4"),
                captions_path=captions,
                motion=motion,
                crossfade=crossfade,
                encoder=encoder,
            )
            label = f"{scenario:6s} {encoder:10s}"
            row: dict[str, Any] = {"scenario": scenario, "encoder": encoder, "video_s": plan.duration}
            summary["renders"].append(row)
            started = time.monotonic()
            try:
                result, telemetry = await sampled_render(plan)
            except FFmpegError as exc:
                failures += encoder == choice.name
                row["error"] = str(exc)
                print(f"    {label} FAILED after {time.monotonic() - started:.1f} s: {exc}")
                continue
            walls[encoder] = result.seconds_wall
            size_mb = os.path.getsize(result.output_path) / 1e6
            row.update(wall_s=round(result.seconds_wall, 2), realtime=round(result.realtime_factor, 2), mb=size_mb)
            print(
                f"    {label} video {plan.duration:5.1f} s  wall {result.seconds_wall:6.2f} s  "
                f"realtime x{result.realtime_factor:5.1f}  {size_mb:5.1f} MB"
            )
            s = telemetry
            print(
                f"      (c) telemetry: gpu_available {s.available}; {len(s.samples)} samples; "
                f"util mean {fmt(s.mean('utilization_percent'), ' %')} "
                f"peak {fmt(s.peak('utilization_percent'), ' %')}; "
                f"mem peak {fmt(s.peak('memory_used_bytes'), ' MiB', 2**20)} of "
                f"{fmt(s.peak('memory_total_bytes'), ' MiB', 2**20)}; "
                f"encoder sessions peak {fmt(s.peak('encoder_sessions'))}; "
                f"encoder util mean {fmt(s.mean('encoder_utilization_percent'), ' %')} "
                f"peak {fmt(s.peak('encoder_utilization_percent'), ' %')}; "
                f"in band (70-85 %) in {sum(x.get('in_target_band', 0) for x in s.samples):g} samples"
            )
            row["telemetry"] = {
                "available": s.available,
                "samples": s.samples,
                "prometheus_busiest": s.busiest_text,
            }
            if encoder == GPU_ENCODER or not (try_nvenc or shown):
                shown = True
                print("      Prometheus text (ytempire_gpu_*), at the busiest poll:")
                print("\n".join(f"        {line}" for line in s.busiest_text.splitlines()))
            info = ffprobe(result.output_path)
            want_frames = round(plan.duration * plan.fps)
            ok = (
                info["codec"] == "h264"
                and info["size"] == f"{plan.width}x{plan.height}"
                and info["pix_fmt"] == "yuv420p"
                and abs(info["duration"] - plan.duration) < 0.1
                and abs(info["frames"] - want_frames) <= 1
                and info["audio"] == "aac"
            )
            failures += not ok
            row["ffprobe"] = info | {"ok": ok}
            print(
                f"      (d) ffprobe: {info['codec']} {info['size']} {info['pix_fmt']}, "
                f"{info['duration']:.3f} s, {info['frames']} frames decoded (want {want_frames}), "
                f"audio {info['audio']} -> {'OK' if ok else 'MISMATCH'}"
            )
        if len(walls) == 2:
            ratio = walls[GPU_ENCODER] / walls[CPU_ENCODER]
            print(f"    {scenario}: NVENC/libx264 wall ratio {ratio:.2f} (NVENC {1 / ratio:.2f}x as fast)")
            summary[f"ratio_{scenario}"] = round(ratio, 3)
    if gpus and load_seconds > 0:
        await sampled_load(load_seconds, 0.78)
    summary["failures"] = failures
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=sum(SLIDES), help="video length (default 60)")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    parser.add_argument("--ffmpeg-dir", type=Path, help="use ffmpeg/ffprobe from DIR (shared libs in DIR/lib)")
    parser.add_argument("--keep", type=Path, help="write inputs and outputs here instead of a temp dir")
    parser.add_argument("--load-seconds", type=float, default=8.0, help="synthetic CUDA load (torch) on a GPU")
    parser.add_argument("--json", type=Path, help="also write a JSON summary here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="    log %(name)s: %(message)s")
    logging.getLogger("engines.render.runner").setLevel(logging.WARNING)
    if args.ffmpeg_dir:
        ffdir = args.ffmpeg_dir.resolve()
        os.environ["PATH"] = f"{ffdir}{os.pathsep}{os.environ.get('PATH', '')}"
        libs = [str(ffdir / "lib"), os.environ.get("LD_LIBRARY_PATH", "")]
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in libs if p)
    scenarios = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        summary = asyncio.run(check(root, args.seconds, scenarios, args.load_seconds))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"done: {summary['failures']} failure(s)")
    sys.exit(1 if summary["failures"] else 0)


if __name__ == "__main__":
    main()
