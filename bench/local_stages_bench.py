"""Local stage speed: espeak-ng narration of a 60 s script (about 150 words) and 6 generated 1080x1920 backgrounds.

The budgets (espeak 3.0 s, backgrounds 1.5 s on a 2-core box) used to be assertions in the tests; they are
figures, so they live here. Usage (from the repo root): .venv/bin/python bench/local_stages_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines.media.backgrounds import generate_backgrounds  # noqa: E402
from engines.script.writer import write_script  # noqa: E402
from engines.speech import synthesize_espeak  # noqa: E402

# What the pipeline really speaks for a 60 s video: the template writer's script (about 150 words).
NARRATION = write_script("bioluminescent deep sea creatures", 60).narration()
ESPEAK_BUDGET_S = 3.0
BACKGROUNDS_BUDGET_S = 1.5


async def main(runs: int) -> None:
    words = sum(len(part.split()) for part in NARRATION)
    speech: list[float] = []
    backgrounds: list[float] = []
    audio_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="ytempire-bench-local-") as tmp:
        for run in range(runs):
            started = time.perf_counter()
            timeline = await synthesize_espeak(NARRATION, Path(tmp) / f"narration-{run}.wav")
            speech.append(time.perf_counter() - started)
            audio_seconds = timeline.duration
            started = time.perf_counter()
            generate_backgrounds(
                Path(tmp) / f"bg-{run}", count=6, width=1080, height=1920, seed=f"video-{run}", title="Glowing seas"
            )
            backgrounds.append(time.perf_counter() - started)
    for name, times, budget in (
        (f"espeak-ng {words} words ({audio_seconds:.1f} s of audio)", speech, ESPEAK_BUDGET_S),
        ("6 backgrounds 1080x1920", backgrounds, BACKGROUNDS_BUDGET_S),
    ):
        median = statistics.median(times)
        print(
            f"{name}: median {median:.2f} s over {runs} runs (min {min(times):.2f}, max {max(times):.2f}); "
            f"budget {budget:.1f} s -> {median / budget:.2f} of budget"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
