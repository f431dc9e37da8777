"""Local stage speed: Piper and espeak-ng narration of a 60 s script (about 150 words) and 6 generated 1080x1920
backgrounds.

The budgets (Piper 12 s, espeak 3.0 s, backgrounds 1.5 s on a 2-core box) used to be assertions in the tests; they
are figures, so they live here. Piper's lines add its realtime factor (seconds of speech per second of wall time,
model load included), the peak memory of its child process, and how well its word times fit the audio: how far the
last word's end is from where the sound stops (end drift), and the worst distance between a word that follows a
pause and the sound resuming (silences found by ffmpeg's silencedetect, as the tests do).
Usage (from the repo root): .venv/bin/python bench/local_stages_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines.media.backgrounds import generate_backgrounds  # noqa: E402
from engines.script.writer import write_script  # noqa: E402
from engines.speech import synthesize_espeak, synthesize_piper  # noqa: E402
from engines.speech.piper import bundled_voice, read_voice  # noqa: E402
from engines.speech.timeline import SpeechTimeline  # noqa: E402

# What the pipeline really speaks for a 60 s video: the template writer's script (about 150 words).
NARRATION = write_script("bioluminescent deep sea creatures", 60).narration()
PIPER_BUDGET_S = 12.0  # a 60 s video at 5x realtime: a tenth of the stage's 120 s timeout
ESPEAK_BUDGET_S = 3.0
BACKGROUNDS_BUDGET_S = 1.5


def silences(wav: Path, noise_db: int, min_duration: float) -> list[tuple[float, float]]:
    err = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(wav), "-af",
         f"silencedetect=noise={noise_db}dB:d={min_duration}", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    starts = [float(x) for x in re.findall(r"silence_start: ([0-9.]+)", err)]
    ends = [float(x) for x in re.findall(r"silence_end: ([0-9.]+)", err)]
    return list(zip(starts, ends, strict=True))


def sync(timeline: SpeechTimeline, wav: Path) -> tuple[float, float]:
    """(end drift, worst word start after a pause) in seconds."""
    sound_end = silences(wav, -40, 0.05)[-1][0]
    pauses = [(s, e) for s, e in silences(wav, -50, 0.15) if e < timeline.duration - 0.05]
    after = [(next(w.start for w in timeline.words if w.end > s + 0.02), e) for s, e in pauses]
    return abs(timeline.words[-1].end - sound_end), max(abs(start - e) for start, e in after)


async def main(runs: int) -> None:
    words = sum(len(part.split()) for part in NARRATION)
    joe = read_voice(bundled_voice())
    piper: list[float] = []
    speech: list[float] = []
    backgrounds: list[float] = []
    piper_seconds = audio_seconds = 0.0
    word_times = ""
    drifts: list[float] = []
    pause_errors: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ytempire-bench-local-") as tmp:
        for run in range(runs):
            started = time.perf_counter()
            spoken = await synthesize_piper(NARRATION, Path(tmp) / f"piper-{run}.wav", joe)
            piper.append(time.perf_counter() - started)
            piper_seconds, word_times = spoken.timeline.duration, spoken.word_times
            drift, pause_error = sync(spoken.timeline, Path(tmp) / f"piper-{run}.wav")
            drifts.append(drift)
            pause_errors.append(pause_error)
            started = time.perf_counter()
            timeline = await synthesize_espeak(NARRATION, Path(tmp) / f"narration-{run}.wav")
            speech.append(time.perf_counter() - started)
            audio_seconds = timeline.duration
            started = time.perf_counter()
            generate_backgrounds(
                Path(tmp) / f"bg-{run}", count=6, width=1080, height=1920, seed=f"video-{run}", title="Glowing seas"
            )
            backgrounds.append(time.perf_counter() - started)
    # The largest child waited for: Piper's (onnxruntime with the model), not ffmpeg's or espeak's.
    child_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for name, times, budget in (
        (f"piper {joe.name} {words} words ({piper_seconds:.1f} s of audio)", piper, PIPER_BUDGET_S),
        (f"espeak-ng {words} words ({audio_seconds:.1f} s of audio)", speech, ESPEAK_BUDGET_S),
        ("6 backgrounds 1080x1920", backgrounds, BACKGROUNDS_BUDGET_S),
    ):
        median = statistics.median(times)
        print(
            f"{name}: median {median:.2f} s over {runs} runs (min {min(times):.2f}, max {max(times):.2f}); "
            f"budget {budget:.1f} s -> {median / budget:.2f} of budget"
        )
    print(
        f"piper realtime factor {piper_seconds / statistics.median(piper):.1f}x (model load included), "
        f"child peak RSS {child_peak_mb:.0f} MB, word times {word_times}: end drift at most {max(drifts):.3f} s, "
        f"a word after a pause at most {max(pause_errors):.3f} s from the sound"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
