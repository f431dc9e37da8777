"""A video's language reaches every provider: the script prompt, espeak-ng's voice, Google's voice, YouTube's
metadata; a language the local template writer cannot write is refused with the setting to change."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from core import writing_systems as ws
from core.domain import StageInput, VideoRequest
from core.languages import espeak_voice, google_voice
from core.settings import Settings
from engines.script.writer import Script
from providers.context import ProviderContext
from stages import scripts, speech
from stages.scripts import script_language_problem
from stages.upload import youtube_body
from telemetry.worker_metrics import WorkerMetrics
from tests.fakes.google_tts_api import FakeGoogleTts
from tests.fakes.openai_api import FakeOpenAI, Scripted
from tests.fakes.server import serve
from tests.providers.speech_checks import out_dir, script_for, stage_input


def ctx_for(tmp_path: Path, **values: Any) -> ProviderContext:
    settings = Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]
    return ProviderContext.for_worker(settings, WorkerMetrics())


def test_provider_language_names() -> None:
    assert espeak_voice("en", "en-us") == "en-us" and espeak_voice("en-GB", "en-us") == "en-us"
    assert espeak_voice("es", "en-us") == "es" and espeak_voice("pt-BR", "en-us") == "pt-br"
    assert google_voice("en", "en-GB", "en-GB-Neural2-B") == {"languageCode": "en-GB", "name": "en-GB-Neural2-B"}
    assert google_voice("es", "en-US", "en-US-Neural2-F") == {"languageCode": "es-ES"}
    assert google_voice("es-419", "en-US", "en-US-Neural2-F") == {"languageCode": "es-419"}


async def test_local_speech_speaks_the_videos_language(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path)
    english, spanish = stage_input(tmp_path / "en"), stage_input(tmp_path / "es", language="es")
    for inp in (english, spanish):
        await speech.synthesize(ctx, inp, script_for(inp), out_dir(inp))
    # Same words, another voice: espeak-ng's Spanish reads the English text with other phonemes and timing.
    en_timeline = json.loads((out_dir(english) / "timeline.json").read_text())
    es_timeline = json.loads((out_dir(spanish) / "timeline.json").read_text())
    assert en_timeline["duration"] != es_timeline["duration"]


async def test_an_unknown_espeak_language_fails_with_the_reason(tmp_path: Path) -> None:
    inp = stage_input(tmp_path, language="xx")
    with pytest.raises(Exception, match="voice 'xx' not found"):
        await speech.synthesize(ctx_for(tmp_path), inp, script_for(inp), out_dir(inp))


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogleTts, str]]:
    fake = FakeGoogleTts(api_key="AIza-lang-test-0123456789")
    with serve(fake.app) as url:
        yield fake, url


async def test_google_gets_the_languages_voice_and_the_cache_keeps_languages_apart(
    tmp_path: Path, google: tuple[FakeGoogleTts, str]
) -> None:
    fake, url = google
    ctx = ctx_for(
        tmp_path,
        tts_provider="google",
        google_api_key=fake.api_key,
        google_tts_base_url=url,
        google_tts_voice="en-US-Neural2-F",
        google_tts_language="en-US",
    )
    spanish, english = stage_input(tmp_path / "es", language="es"), stage_input(tmp_path / "en")
    await speech.synthesize(ctx, spanish, script_for(spanish), out_dir(spanish))
    await speech.synthesize(ctx, english, script_for(english), out_dir(english))  # same text: not a cache hit
    voices = [r.body["voice"] for r in fake.requests]
    assert voices == [{"languageCode": "es-ES"}, {"languageCode": "en-US", "name": "en-US-Neural2-F"}]


async def test_openai_is_asked_for_the_language(tmp_path: Path) -> None:
    fake = FakeOpenAI(narration_words=75)
    with serve(fake.app) as url:
        ctx = ctx_for(tmp_path, script_provider="openai", openai_api_key=fake.api_key, openai_base_url=f"{url}/v1")
        request = VideoRequest("v-es", "corazones de pulpo", "c", "u", duration_seconds=30, language="es")
        inp = StageInput("script_generation", request, str(tmp_path), str(tmp_path / "outbox"))
        await scripts.generate_script(ctx, inp, tmp_path / "script.json")
    prompt = json.dumps(fake.requests[0].body["messages"])
    assert "Language of every field: es" in prompt


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("es", "Oktopusherzen: preguntas que vale la pena hacerse"),
        ("pt-BR", "Oktopusherzen: perguntas que valem a pena"),
        ("fr", "Oktopusherzen : les bonnes questions à se poser"),
        ("de", "Oktopusherzen: Fragen, die sich lohnen"),
        ("en-GB", "Oktopusherzen: questions worth asking"),
    ],
)
async def test_the_template_writer_writes_five_languages(tmp_path: Path, language: str, title: str) -> None:
    request = VideoRequest("v", "Oktopusherzen", "c", "u", duration_seconds=60, language=language)
    inp = StageInput("script_generation", request, str(tmp_path), str(tmp_path / "outbox"))
    outcome = await scripts.generate_script(ctx_for(tmp_path), inp, tmp_path / "script.json")
    script = json.loads((tmp_path / "script.json").read_text())
    assert script["title"] == title
    assert all("Oktopusherzen" in part for part in (script["hook"], script["description"]))
    # 60 s at the pace of the voice: Piper's joe speaks English (about 3.2 words a second), espeak-ng the rest (2.5).
    expected = 192 if language == "en-GB" else 150
    assert 0.87 * expected <= float(outcome.details["words"]) <= 1.13 * expected
    assert script_language_problem(ctx_for(tmp_path).settings, request) is None


async def test_the_template_writer_refuses_other_languages_and_the_api_check_says_why(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path)
    request = VideoRequest("v-ja", "タコの心臓", "c", "u", language="ja")
    inp = StageInput("script_generation", request, str(tmp_path), str(tmp_path / "outbox"))
    with pytest.raises(ApplicationError) as info:
        await scripts.generate_script(ctx, inp, tmp_path / "script.json")
    assert info.value.non_retryable and "YTEMPIRE_SCRIPT_PROVIDER=openai" in str(info.value)
    assert "writes en, es, pt, fr, de" in str(info.value)
    assert "YTEMPIRE_SCRIPT_PROVIDER=openai" in (script_language_problem(ctx.settings, request) or "")
    openai_tiers = Settings(_env_file=None, script_provider_tiers={"simple": "openai"})  # type: ignore[call-arg]
    assert script_language_problem(openai_tiers, request) is None
    assert script_language_problem(ctx.settings, VideoRequest("v-en", "octopus", "c", "u", language="en-GB")) is None


def test_youtube_metadata_names_the_language(tmp_path: Path) -> None:
    inp = stage_input(tmp_path)
    body = youtube_body(Settings(_env_file=None), script_for(inp), [], "pt-BR")  # type: ignore[call-arg]
    assert body["snippet"]["defaultLanguage"] == "pt-BR" == body["snippet"]["defaultAudioLanguage"]


CHINESE_SCRIPT = {
    "title": "章鱼的三颗心脏",
    "hook": "你知道章鱼有三颗心脏吗？",
    "segments": [
        {"text": "章鱼的两颗心脏负责把血液送到鳃里，让血液吸收氧气。", "visual_terms": ["章鱼 鳃"]},
        {"text": "第三颗心脏把含氧的血液送往全身的器官和肌肉。", "visual_terms": ["章鱼"]},
        {"text": "章鱼的血液里有一种含铜的蛋白质，所以血液是蓝色的。", "visual_terms": ["蓝色 血液"]},
        {"text": "当章鱼游泳时，主心脏会停止跳动，所以它更喜欢爬行。", "visual_terms": ["章鱼 爬行"]},
    ],
    "call_to_action": "关注我们，了解更多海洋动物的秘密。",
    "description": "章鱼为什么有三颗心脏？",
    "tags": ["章鱼", "科普"],
}


async def test_a_chinese_script_is_measured_in_characters_and_spoken_and_captioned_by_character(
    tmp_path: Path,
) -> None:
    short = {**CHINESE_SCRIPT, "segments": [{"text": "章鱼有三颗心。", "visual_terms": []}] * 2}
    fake = FakeOpenAI()
    fake.scripted.extend([Scripted(script=short), Scripted(script=CHINESE_SCRIPT)])
    with serve(fake.app) as url:
        ctx = ctx_for(
            tmp_path, script_provider="openai", openai_api_key=fake.api_key, openai_base_url=f"{url}/v1",
            provider_max_attempts=1,
        )  # fmt: skip
        request = VideoRequest("v-zh", "章鱼的心脏", "c", "u", duration_seconds=30, language="zh")
        inp = StageInput("script_generation", request, str(tmp_path), str(tmp_path / "outbox"))
        with pytest.raises(ApplicationError, match=r"38 characters, but a 30 s video needs 96 to 196 \(target 150"):
            await scripts.generate_script(ctx, inp, tmp_path / "script.json")
        outcome = await scripts.generate_script(ctx, inp, tmp_path / "script.json")
    assert "about 150 characters" in fake.requests[0].body["messages"][-1]["content"]
    narration = [
        CHINESE_SCRIPT["hook"],
        *(s["text"] for s in CHINESE_SCRIPT["segments"]),
        CHINESE_SCRIPT["call_to_action"],
    ]
    characters = sum(len(ws.words(part)) for part in narration)
    assert float(outcome.details["words"]) == round(characters / ws.CHARACTERS_PER_WORD)

    speech_input = stage_input(tmp_path / "speech", language="zh", duration_seconds=30)
    script = Script.from_json(json.loads((tmp_path / "script.json").read_text()))
    await speech.synthesize(ctx_for(tmp_path), speech_input, script, out_dir(speech_input))
    timeline = json.loads((out_dir(speech_input) / "timeline.json").read_text())
    words = [w["text"] for w in timeline["words"]]
    assert words == [w for part in narration for w in ws.words(part)]  # espeak-ng (cmn) spoke every character
    starts = [w["start"] for w in timeline["words"]]
    assert starts == sorted(starts) and len(set(starts)) > len(starts) * 0.9
    captions = (out_dir(speech_input) / "captions.ass").read_text()
    assert "Style: Caption,Noto Sans CJK SC," in captions
    for line in re.findall(r"^Dialogue: [^,]*,[^,]*,[^,]*,Caption,,0,0,0,,(.*)$", captions, re.M):
        for row in re.sub(r"\{[^}]*\}", "", line).split("\\N"):
            assert " " not in row and 0 < len(row) <= 4 * ws.CHARACTERS_PER_WORD + 1, row
