"""The local speech provider: Piper's en_US-joe-medium speaks English, a request or a language picks another Piper
voice, espeak-ng speaks a language without one; a voice that cannot speak is refused with the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core import cost_policy
from core.domain import VideoRequest
from core.settings import Settings
from engines.script.writer import Script
from engines.speech.piper import PIPER_WORDS_PER_SECOND, bundled_voice, read_voice
from engines.speech.timeline import SpeechTimeline
from providers.context import ProviderContext
from stages import scripts, speech
from stages.configuration import voice_problems
from stages.speech import voice_problem
from stages.voices import local_voice, words_per_second
from telemetry.worker_metrics import WorkerMetrics
from tests.providers.speech_checks import check_timeline, out_dir, script_for, stage_input


def settings_for(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def request(language: str = "en", voice: str | None = None, complexity: str = "simple") -> VideoRequest:
    return VideoRequest("v", "octopus hearts", "c", "u", complexity=complexity, language=language, voice=voice)  # type: ignore[arg-type]


def voice_copy(folder: Path, name: str, language: str) -> Path:
    """A voice file of `name` speaking `language` (joe's model under another name and language code)."""
    joe = read_voice(bundled_voice())
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.symlink_to(joe.model)
    config = json.loads(joe.config.read_text())
    config["language"] = {"code": language, "family": language.split("_")[0]}
    (folder / f"{name}.onnx.json").write_text(json.dumps(config))
    return model


async def test_english_is_spoken_by_piper_and_charged_as_local_compute(tmp_path: Path) -> None:
    ctx = ProviderContext.for_worker(settings_for(tmp_path), WorkerMetrics())
    inp = stage_input(tmp_path, complexity="premium")
    script = script_for(inp)
    outcome = await speech.synthesize(ctx, inp, script, out_dir(inp))
    assert outcome.details["provider"] == "piper"
    assert outcome.details["voice"] == "en_US-joe-medium" and outcome.details["word_times"] == "aligned"
    assert (outcome.cost.service, outcome.cost.operation) == ("tts_local", "piper")
    assert outcome.cost.amount_usd == ctx.settings.overhead_usd_per_stage
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    check_timeline(timeline, script, Path(outcome.artifacts["voice"]))
    assert Path(outcome.artifacts["captions"]).stat().st_size > 0


async def test_a_language_without_a_piper_voice_falls_back_to_espeak(tmp_path: Path) -> None:
    ctx = ProviderContext.for_worker(settings_for(tmp_path), WorkerMetrics())
    inp = stage_input(tmp_path, language="es")
    outcome = await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    assert (outcome.details["provider"], outcome.details["voice"]) == ("espeak-ng", "es")
    assert (outcome.cost.service, outcome.cost.operation) == ("tts_local", "espeak_ng")


def test_the_voice_is_the_best_fit_for_the_language(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voice_copy(voices, "es_ES-test-medium", "es_ES")
    voice_copy(voices, "en_GB-test-medium", "en_GB")
    (voices / "junk.onnx").write_text("not a voice")  # left out, with a warning
    settings = settings_for(tmp_path, piper_voices_dir=voices)

    def chosen(**kw: Any) -> str | None:
        voice = local_voice(settings, request(**kw))
        return voice.name if voice else None

    assert chosen(language="en") == "en_US-joe-medium"  # the default voice wins a tie
    assert chosen(language="en-US") == "en_US-joe-medium"
    assert chosen(language="en-GB") == "en_GB-test-medium"  # the same region first
    assert chosen(language="es-419") == "es_ES-test-medium"
    assert chosen(language="de") is None  # espeak-ng
    assert chosen(language="de", voice="en_GB-test-medium") == "en_GB-test-medium"
    assert chosen(language="en", voice="es_ES-test-medium") == "es_ES-test-medium"
    assert local_voice(settings_for(tmp_path, piper_enabled=False), request()) is None
    own = voice_copy(tmp_path / "own", "en_US-own-low", "en_US")
    assert local_voice(settings_for(tmp_path, piper_voice=own), request()).name == "en_US-own-low"  # type: ignore[union-attr]


def test_a_requested_voice_that_cannot_speak_says_why(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voice_copy(voices, "es_ES-test-medium", "es_ES")
    (voices / "broken.onnx").write_text("not a voice")
    settings = settings_for(tmp_path, piper_voices_dir=voices)
    assert voice_problem(settings, request("es", "es_ES-test-medium")) is None
    assert voice_problem(settings, request()) is None
    problems = {
        "missing": voice_problem(settings, request("es", "es_ES-nobody-medium")),
        "broken": voice_problem(settings, request("es", "broken")),
        "language": voice_problem(settings, request("en", "es_ES-test-medium")),
        "path": voice_problem(settings, request("es", "../voices/es_ES-test-medium")),
        "no dir": voice_problem(settings_for(tmp_path), request("es", "es_ES-test-medium")),
        "off": voice_problem(settings_for(tmp_path, piper_voices_dir=voices, piper_enabled=False), request("es", "x")),
        "cloud": voice_problem(
            settings_for(tmp_path, piper_voices_dir=voices, tts_provider_tiers={"premium": "google"}),
            request("es", "es_ES-test-medium", "premium"),
        ),
    }
    assert problems == {
        "missing": "the Piper voice 'es_ES-nobody-medium' is not usable: no such voice file (es_ES-nobody-medium.onnx)",
        "broken": "the Piper voice 'broken' is not usable: broken.onnx is not an ONNX model",
        "language": "the Piper voice 'es_ES-test-medium' speaks es_ES, not the video's language 'en'",
        "path": "'../voices/es_ES-test-medium' is not a voice name (a file name in YTEMPIRE_PIPER_VOICES_DIR "
        "without .onnx)",
        "no dir": "voice names a Piper voice, but there are none to choose from here (YTEMPIRE_PIPER_VOICES_DIR is "
        "unset)",
        "off": "voice names a Piper voice, but Piper voices are off here (YTEMPIRE_PIPER_ENABLED=false)",
        "cloud": "voice names a Piper voice, but premium videos are spoken by google here",
    }
    assert not any(str(tmp_path) in p for p in problems.values() if p)  # no server path reaches the API's 422


async def test_the_stage_refuses_what_admission_would(tmp_path: Path) -> None:
    ctx = ProviderContext.for_worker(settings_for(tmp_path), WorkerMetrics())
    inp = stage_input(tmp_path, voice="en_US-joe-medium")
    with pytest.raises(ApplicationError) as info:
        await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    assert info.value.type == "InvalidRequest" and info.value.non_retryable
    assert "YTEMPIRE_PIPER_VOICES_DIR" in str(info.value)


async def test_a_missing_default_voice_fails_the_stage_for_good_and_warns_at_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, piper_voice=tmp_path / "gone.onnx", piper_voices_dir=tmp_path / "nowhere")
    inp = stage_input(tmp_path)
    with pytest.raises(ApplicationError) as info:
        await speech.synthesize(
            ProviderContext.for_worker(settings, WorkerMetrics()), inp, script_for(inp), out_dir(inp)
        )
    assert info.value.type == "InvalidConfiguration" and info.value.non_retryable
    assert "no such voice file (gone.onnx)" in str(info.value)
    assert voice_problems(settings) == [
        f"the default Piper voice cannot speak: {tmp_path / 'gone.onnx'}: no such voice file (gone.onnx)",
        f"YTEMPIRE_PIPER_VOICES_DIR {tmp_path / 'nowhere'} is not a directory",
    ]
    assert voice_problems(settings_for(tmp_path)) == []
    assert voice_problems(settings.model_copy(update={"tts_provider": "google"})) == []


async def test_a_model_that_does_not_load_fails_the_stage_for_good(tmp_path: Path) -> None:
    joe = read_voice(bundled_voice())
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08" + bytes(1024))
    shutil.copy(joe.config, tmp_path / "broken.onnx.json")
    ctx = ProviderContext.for_worker(settings_for(tmp_path, piper_voice=broken), WorkerMetrics())
    inp = stage_input(tmp_path)
    with pytest.raises(ApplicationError) as info:
        await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    assert info.value.type == "InvalidConfiguration" and info.value.non_retryable
    assert "cannot load the Piper voice" in str(info.value)


@pytest.mark.parametrize("topic", ["deep sea creatures", "how volcanoes form"])
async def test_the_template_script_spoken_by_the_default_voice_runs_as_long_as_asked(
    tmp_path: Path, topic: str
) -> None:
    """Sized at 2.5 words a second, a 60 s request was a 46 s video: joe speaks about 3.2."""
    ctx = ProviderContext.for_worker(settings_for(tmp_path), WorkerMetrics())
    inp = stage_input(tmp_path, topic=topic, duration_seconds=30)
    path = out_dir(inp) / "script.json"
    await scripts.generate_script(ctx, inp, path)
    outcome = await speech.synthesize(ctx, inp, Script.from_json(json.loads(path.read_text())), out_dir(inp))
    assert outcome.details["voice"] == "en_US-joe-medium"
    timeline = SpeechTimeline.from_json(json.loads(Path(outcome.artifacts["timeline"]).read_text()))
    assert 27 <= timeline.duration <= 33


def test_a_template_script_is_sized_for_the_voice_that_speaks_it(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tts_provider_tiers={"premium": "elevenlabs"})
    assert words_per_second(settings, request()) == PIPER_WORDS_PER_SECOND
    assert words_per_second(settings, request("es")) == cost_policy.WORDS_PER_SECOND  # espeak-ng
    assert words_per_second(settings, request(complexity="premium")) == cost_policy.WORDS_PER_SECOND
    off = settings_for(tmp_path, piper_enabled=False)
    assert words_per_second(off, request()) == cost_policy.WORDS_PER_SECOND
