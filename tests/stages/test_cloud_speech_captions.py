"""Captions cut from a cloud provider's timeline fit its WAV exactly, as they do for espeak."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.caption_style import CaptionStyle
from core.settings import Settings
from engines.captions import caption_chunks, write_ass
from engines.render.layout import frame_layout
from engines.speech.timeline import SpeechTimeline
from providers.context import ProviderContext
from stages import speech
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.elevenlabs_api import FakeElevenLabs
from tests.fakes.google_tts_api import FakeGoogleTts
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.server import serve
from tests.providers.speech_checks import out_dir, probe_wav, script_for, stage_input

_DIALOGUE = re.compile(r"^Dialogue: 0,(\d+):(\d\d):(\d\d)\.(\d\d),(\d+):(\d\d):(\d\d)\.(\d\d),Caption,,0,0,0,,(.*)$")


@pytest.fixture(params=["elevenlabs", "google", "openai"])
def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProviderContext]:
    values: dict[str, Any] = {"data_dir": tmp_path, "tts_provider": request.param, "provider_timeout_seconds": 5.0}
    if request.param == "elevenlabs":
        el = FakeElevenLabs()
        with serve(el.app) as url:
            values |= {"elevenlabs_api_key": el.api_key, "elevenlabs_base_url": url}
            yield ProviderContext.for_worker(Settings(_env_file=None, **values), WorkerMetrics())  # type: ignore[call-arg]
    elif request.param == "google":
        google = FakeGoogleTts()
        with serve(google.app) as url:
            values |= {"google_api_key": google.api_key, "google_tts_base_url": url}
            yield ProviderContext.for_worker(Settings(_env_file=None, **values), WorkerMetrics())  # type: ignore[call-arg]
    else:
        openai = FakeOpenAI()
        with serve(openai.app) as url:
            values |= {"openai_tts_api_key": openai.api_key, "openai_tts_base_url": f"{url}/v1"}
            yield ProviderContext.for_worker(Settings(_env_file=None, **values), WorkerMetrics())  # type: ignore[call-arg]


def seconds(h: str, m: str, s: str, cs: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(cs) / 100


@pytest.mark.parametrize("complexity", ["simple", "premium"])
async def test_captions_from_the_timeline_fall_inside_the_wav(
    cloud: ProviderContext, tmp_path: Path, complexity: str
) -> None:
    inp = stage_input(tmp_path, complexity=complexity, duration_seconds=45)
    outcome = await speech.synthesize(cloud, inp, script_for(inp), out_dir(inp))
    wav_seconds = probe_wav(Path(outcome.artifacts["voice"])).duration
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))

    assert timeline.duration == pytest.approx(wav_seconds, abs=0.002)
    assert all(0.0 <= w.start <= w.end <= wav_seconds for w in timeline.words)

    # The stage wrote captions.ass with write_ass; writing it again from timeline.json gives the same file.
    layout = frame_layout(1080, 1920, script_for(inp).title, CaptionStyle())
    again = write_ass(timeline, tmp_path / "again.ass", layout, highlight=complexity != "simple")
    assert again.read_text() == Path(outcome.artifacts["captions"]).read_text()

    events = [m.groups() for line in again.read_text().splitlines() if (m := _DIALOGUE.match(line))]
    assert events
    spans = [(seconds(*e[0:4]), seconds(*e[4:8])) for e in events]
    assert all(0.0 <= start < end <= wav_seconds + 0.005 for start, end in spans)
    # Every word is captioned, in order, once per chunk.
    chunks = caption_chunks(timeline, fits=layout.captions.fits)
    assert [w for c in chunks for w in c.words] == timeline.words
    if complexity == "simple":
        shown = [re.sub(r"^\{\\fs\d+\}", "", e[8]) for e in events]
        assert shown == [c.text for c in chunks if round(c.end * 100) > round(c.start * 100)]
