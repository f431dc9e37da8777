"""Pick the H.264 encoder: NVENC only when ffmpeg has it and NVML sees a GPU, else libx264."""

from __future__ import annotations

import functools
import logging
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

GPU_ENCODER = "h264_nvenc"
CPU_ENCODER = "libx264"


@dataclass(frozen=True)
class EncoderChoice:
    name: str
    gpu: bool
    reason: str


@functools.lru_cache(maxsize=4)
def ffmpeg_encoders(ffmpeg_bin: str = "ffmpeg") -> frozenset[str]:
    """Encoder names that `ffmpeg -encoders` lists (cached per process; empty if ffmpeg cannot run)."""
    try:
        out = subprocess.run(
            [ffmpeg_bin, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not list ffmpeg encoders with %s: %s", ffmpeg_bin, exc)
        return frozenset()
    names = set()
    listing = False
    for line in out.splitlines():
        if line.strip().startswith("------"):
            listing = True  # the legend above the dashes reuses the same column layout
            continue
        parts = line.split()
        if listing and len(parts) >= 2:
            names.add(parts[1])
    return frozenset(names)


def nvml_gpu_count() -> tuple[int, str]:
    """(GPUs NVML reports, why 0 when it is 0)."""
    try:
        import pynvml
    except ImportError:
        return 0, "nvidia-ml-py (pynvml) is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return 0, f"no NVIDIA GPU visible to NVML ({type(exc).__name__})"
    try:
        count = int(pynvml.nvmlDeviceGetCount())
    except pynvml.NVMLError as exc:
        return 0, f"NVML could not count GPUs ({type(exc).__name__})"
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return count, "" if count else "NVML reports 0 GPUs"


def choose_encoder(prefer_gpu: bool, ffmpeg_bin: str = "ffmpeg") -> EncoderChoice:
    """h264_nvenc when asked for and usable here, otherwise libx264 with the reason why."""
    if not prefer_gpu:
        choice = EncoderChoice(CPU_ENCODER, False, "GPU encoding not requested; using libx264")
    elif GPU_ENCODER not in ffmpeg_encoders(ffmpeg_bin):
        choice = EncoderChoice(CPU_ENCODER, False, f"{ffmpeg_bin} does not list {GPU_ENCODER}; using libx264")
    else:
        count, why = nvml_gpu_count()
        if count:
            choice = EncoderChoice(GPU_ENCODER, True, f"{count} NVIDIA GPU(s) visible to NVML")
        else:
            choice = EncoderChoice(CPU_ENCODER, False, f"{why}; using libx264")
    log.info("render encoder: %s (%s)", choice.name, choice.reason)
    return choice
