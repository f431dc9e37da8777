"""Pick the H.264 encoder: NVENC only when ffmpeg has it, NVML sees a GPU and a probe encode works, else libx264."""

from __future__ import annotations

import functools
import logging
import re
import subprocess
from dataclasses import dataclass

from engines.proc import run_blocking

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
        listed = run_blocking([ffmpeg_bin, "-hide_banner", "-encoders"], timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not list ffmpeg encoders with %s: %s", ffmpeg_bin, exc)
        return frozenset()
    if listed.returncode != 0:
        log.warning("could not list ffmpeg encoders with %s: exit status %d", ffmpeg_bin, listed.returncode)
        return frozenset()
    out = listed.stdout
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


# A tenth of a second of black at 256x256 (above NVENC's minimum size), encoded to nowhere.
_PROBE_ARGS = ["-hide_banner", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=256x256:r=30:d=0.1"]


@functools.lru_cache(maxsize=4)
def nvenc_probe(ffmpeg_bin: str = "ffmpeg") -> str:
    """'' when ffmpeg can really encode with h264_nvenc here (a tiny encode to null), else why not.

    Listing the encoder and seeing a GPU is not enough: data-centre GPUs such as the A100, H100 and H200 have
    no NVENC engine, and a container without the driver's video libraries (libnvidia-encode) cannot open one.
    """
    argv = [ffmpeg_bin, *_PROBE_ARGS, "-c:v", GPU_ENCODER, "-f", "null", "-"]
    try:
        proc = run_blocking(argv, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the {GPU_ENCODER} probe could not run ({exc})"
    if proc.returncode == 0:
        return ""
    lines = [re.sub(r"^\[\S+ @ 0x[0-9a-f]+\] ", "", line) for line in proc.stderr.strip().splitlines()]
    return f"a {GPU_ENCODER} probe encode failed ({lines[0][:200] if lines else f'exit {proc.returncode}'})"


def choose_encoder(prefer_gpu: bool, ffmpeg_bin: str = "ffmpeg") -> EncoderChoice:
    """h264_nvenc when asked for and usable here, otherwise libx264 with the reason why."""
    if not prefer_gpu:
        choice = EncoderChoice(CPU_ENCODER, False, "GPU encoding not requested; using libx264")
    elif GPU_ENCODER not in ffmpeg_encoders(ffmpeg_bin):
        choice = EncoderChoice(CPU_ENCODER, False, f"{ffmpeg_bin} does not list {GPU_ENCODER}; using libx264")
    else:
        count, why = nvml_gpu_count()
        if not count:
            choice = EncoderChoice(CPU_ENCODER, False, f"{why}; using libx264")
        elif failed := nvenc_probe(ffmpeg_bin):
            choice = EncoderChoice(
                CPU_ENCODER, False, f"{count} NVIDIA GPU(s) visible to NVML, but {failed}; using libx264"
            )
        else:
            choice = EncoderChoice(GPU_ENCODER, True, f"{count} NVIDIA GPU(s) visible to NVML, NVENC probe passed")
    log.info("render encoder: %s (%s)", choice.name, choice.reason)
    return choice
