"""Local stage speed: espeak-ng narration of 150 words (about a minute) and 6 generated 1080x1920 backgrounds.

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

from activities.media.backgrounds import generate_backgrounds  # noqa: E402
from activities.speech import synthesize_espeak  # noqa: E402

NARRATION = [
    "Deep beneath the ocean surface lies a hidden world of strange creatures. Many of them glow in "
    "the dark, using light to hunt, hide, and find partners in the night.",
    "Scientists call this light bioluminescence. It comes from a chemical reaction inside special cells, "
    "and it produces almost no heat, which makes it very efficient for these small animals.",
    "The anglerfish is the most famous example. A glowing lure hangs above its wide mouth, and curious "
    "small fish swim closer and closer until the sharp jaws snap shut around them.",
    "Other animals use light as a clever disguise. Some squid match the faint glow coming from above, "
    "so hungry predators looking up from below cannot see their dark shapes at all.",
    "Researchers still discover new glowing species almost every single year. The deep sea remains the "
    "largest unexplored place on our planet, full of strange surprises quietly waiting for us.",
]
ESPEAK_BUDGET_S = 3.0
BACKGROUNDS_BUDGET_S = 1.5


async def main(runs: int) -> None:
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
        (f"espeak-ng 150 words ({audio_seconds:.1f} s of audio)", speech, ESPEAK_BUDGET_S),
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
