"""API calls saved by the provider cache on a replayed batch of 50 requests.

The batch is what a few channels send in a day: topics drawn with a long tail (a handful of evergreen topics come
back often, most appear once), two durations, mostly simple videos; and a few stage runs repeated, as when a worker
dies after a provider answered but before the activity completed (Temporal runs the activity again). Script, speech
and media run through the real provider code and client libraries against the fake APIs of tests/fakes, once with
the cache off and once on; the fakes count the requests that reached them. Uploads are never cached (every video is
its own upload) and are left out.

    .venv/bin/python bench/cache_bench.py [--requests 50] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.domain import Complexity, StageInput, VideoRequest  # noqa: E402
from core.settings import Settings  # noqa: E402
from engines.script.writer import Script  # noqa: E402
from providers.context import ProviderContext  # noqa: E402
from stages import media, scripts, speech  # noqa: E402
from telemetry.worker_metrics import WorkerMetrics  # noqa: E402
from tests.fakes.elevenlabs_api import FakeElevenLabs  # noqa: E402
from tests.fakes.openai_api import FakeOpenAI  # noqa: E402
from tests.fakes.server import serve  # noqa: E402
from tests.fakes.stock_media_api import FakePhoto, StockMediaApi  # noqa: E402

TOPICS = [
    "octopus hearts",
    "black holes",
    "honey never spoils",
    "sleep cycles",
    "the roman army",
    "tardigrades",
    "coffee chemistry",
    "volcano lightning",
    "bird migration",
    "the first computer",
    "coral reefs",
    "jet streams",
    "ancient egyptian bread",
    "sharks older than trees",
    "mantis shrimp",
    "the moon's tides",
    "fungi networks",
    "desert rain",
    "the speed of light",
    "medieval castles",
    "penguin huddles",
    "glass frogs",
    "auroras",
    "the deep sea",
    "ant colonies",
    "northern lights myths",
    "space food",
    "ocean currents",
    "ice ages",
    "bioluminescence",
    "the great wall",
    "quantum tunnelling",
    "hummingbird hearts",
    "salt history",
    "paper planes",
]
REPEATED_STAGE_RUNS = 0.06  # share of stage runs executed twice (worker lost after the provider answered)


@dataclass(frozen=True)
class Planned:
    topic: str
    duration: int
    complexity: Complexity
    rerun: frozenset[str]  # stages that run twice


def plan(requests: int, seed: int) -> list[Planned]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(TOPICS))]  # Zipf-like long tail
    batch = []
    for _ in range(requests):
        topic = rng.choices(TOPICS, weights)[0]
        duration = rng.choice((30, 30, 60))
        complexity: Complexity = "simple" if rng.random() < 0.8 else "complex"
        rerun = frozenset(s for s in ("script", "speech", "media") if rng.random() < REPEATED_STAGE_RUNS)
        batch.append(Planned(topic, duration, complexity, rerun))
    return batch


@dataclass
class Fakes:
    openai: FakeOpenAI
    elevenlabs: FakeElevenLabs
    stock: StockMediaApi

    def calls(self) -> dict[str, int]:
        return {
            "openai chat completions": len(self.openai.requests),
            "elevenlabs text-to-speech": len(self.elevenlabs.requests),
            "pexels searches": len(self.stock.received("pexels")),
            "photo downloads": len(self.stock.received("download")),
        }


async def replay(batch: list[Planned], workdir: Path, cache: bool) -> tuple[dict[str, int], float, float]:
    """(calls per API, seconds, hit ratio) for the batch with the cache on or off; fresh fakes each time."""
    fakes = Fakes(FakeOpenAI(), FakeElevenLabs(), StockMediaApi([FakePhoto(i, 1280, 2000) for i in range(1, 41)]))
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(serve(getattr(fakes, name).app)) for name in ("openai", "elevenlabs", "stock")
        }
        settings = Settings(
            data_dir=workdir / "data",
            cache_enabled=cache,
            script_provider="openai",
            openai_api_key=fakes.openai.api_key,
            openai_base_url=f"{urls['openai']}/v1",
            tts_provider="elevenlabs",
            elevenlabs_api_key=fakes.elevenlabs.api_key,
            elevenlabs_base_url=urls["elevenlabs"],
            media_provider="pexels",
            pexels_api_key=fakes.stock.pexels_key,
            pexels_base_url=urls["stock"],
        )
        metrics = WorkerMetrics()
        ctx = ProviderContext.for_worker(settings, metrics)
        started = time.perf_counter()
        for index, item in enumerate(batch):
            fakes.openai.narration_words = int(item.duration * 2.5)
            request = VideoRequest(
                video_id=f"bench-{index:03d}",
                topic=item.topic,
                channel_id="bench-channel",
                user_id="bench-user",
                duration_seconds=item.duration,
                complexity=item.complexity,
            )
            video_dir = workdir / request.video_id

            def stage(name: str, artifacts: dict[str, str] | None = None) -> StageInput:
                return StageInput(name, request, str(video_dir), str(workdir / "outbox"), artifacts or {})  # noqa: B023

            for _ in range(2 if "script" in item.rerun else 1):
                video_dir.mkdir(parents=True, exist_ok=True)
                await scripts.generate_script(ctx, stage("script_generation"), video_dir / "script.json")
            script = Script.from_json(json.loads((video_dir / "script.json").read_text()))
            for _ in range(2 if "speech" in item.rerun else 1):
                await speech.synthesize(ctx, stage("audio_synthesis"), script, video_dir)
            for _ in range(2 if "media" in item.rerun else 1):
                (video_dir / "media").mkdir(exist_ok=True)
                await media.collect(ctx, stage("media_collection"), script, video_dir / "media")
        seconds = time.perf_counter() - started
    hits = sum(
        v for (name, labels, v) in _samples(metrics) if name.endswith("_total") and labels.get("result") == "hit"
    )
    lookups = sum(v for (name, labels, v) in _samples(metrics) if name.endswith("_total") and "result" in labels)
    return fakes.calls(), seconds, hits / lookups if lookups else 0.0


def _samples(metrics: WorkerMetrics) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in metrics.cache_lookups.collect() for s in family.samples]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    batch = plan(args.requests, args.seed)
    distinct = len({(p.topic, p.duration, p.complexity) for p in batch})
    reruns = sum(len(p.rerun) for p in batch)
    print(f"batch: {len(batch)} requests, {distinct} distinct (topic, duration, tier), {reruns} stage runs repeated")
    with tempfile.TemporaryDirectory(prefix="ytempire-cache-bench-") as tmp:
        off, off_s, _ = await replay(batch, Path(tmp) / "off", cache=False)
        on, on_s, ratio = await replay(batch, Path(tmp) / "on", cache=True)
    print(f"{'API':<28}{'cache off':>10}{'cache on':>10}{'saved':>9}")
    for api in off:
        saved = 1 - on[api] / off[api] if off[api] else 0.0
        print(f"{api:<28}{off[api]:>10}{on[api]:>10}{saved:>8.0%}")
    total_off, total_on = sum(off.values()), sum(on.values())
    reduction = 1 - total_on / total_off
    print(f"{'all calls':<28}{total_off:>10}{total_on:>10}{reduction:>8.0%}")
    billable_off = off["openai chat completions"] + off["elevenlabs text-to-speech"]
    billable_on = on["openai chat completions"] + on["elevenlabs text-to-speech"]
    fewer = 1 - billable_on / billable_off
    print(f"billable calls (script + speech): {billable_off} -> {billable_on} ({fewer:.0%} fewer)")
    print(f"cache hit ratio {ratio:.0%}; replay took {off_s:.1f} s without and {on_s:.1f} s with the cache")
    print(f"API-call reduction {reduction:.0%} (target 20 %): {'met' if reduction >= 0.20 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
