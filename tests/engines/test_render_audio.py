"""The render's audio on real ffmpeg output: every video normalised for YouTube (-14 ± 1 LUFS, true peak at most
-1 dBTP, measured with loudnorm on the MP4), music under the voice looped to length without a click at its seams,
faded and ducked while the voice speaks; without music, no music input and silence where the voice pauses. Timings:
bench/render_bench.py."""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
from array import array
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from engines.render import AudioLevels, RenderPlan, RenderResult, Still, build_argv, render

SECONDS = 10.0
SPEECH = [(1.0, 4.0), (7.0, 9.0)]  # the voice speaks here; it pauses from 4 s to 7 s and after 9 s
MUSIC_SECONDS = 3.0  # shorter than the video: what plays in the pause is the track looped
VOICE_BAND = "highpass=f=800,highpass=f=800"  # the test voice lives in 1-5 kHz ...
MUSIC_BAND = "lowpass=f=400,lowpass=f=400"  # ... the test music below 200 Hz, so each can be heard apart


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def speech_like_voice(path: Path) -> None:
    """Pink noise in syllables of uneven stress: like speech, its peaks stand 19 dB above its loudness, which a
    single loudnorm pass cannot bring to -14 LUFS under -1 dBTP. Band-limited as a voice is (AAC at 192 kb/s keeps
    up to 15 kHz)."""
    gate = "+".join(f"between(t,{start},{end})" for start, end in SPEECH)
    ffmpeg(
        "-f", "lavfi", "-i", f"anoisesrc=c=pink:r=48000:d={SECONDS}:a=0.5:s=7",
        "-af", "highpass=f=1000,highpass=f=1000,lowpass=f=5000,lowpass=f=5000,"
        f"volume='pow(abs(sin(PI*3*t)),16)*(0.4+0.6*abs(sin(5*t)))*({gate})':eval=frame",
        "-ac", "1", str(path),
    )  # fmt: skip


def low_music(path: Path) -> None:
    """A 3 s stereo chord at 110 and 165 Hz, as FLAC."""
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=f=110:r=48000:d={MUSIC_SECONDS}",
        "-f", "lavfi", "-i", f"sine=f=165:r=48000:d={MUSIC_SECONDS}",
        "-filter_complex", "[0][1]amerge=inputs=2", str(path),
    )  # fmt: skip


def loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the file's audio, as ffmpeg's loudnorm measures it."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-i", str(path), "-map", "0:a:0",
         "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    measured = json.loads(out[out.rindex("{") : out.rindex("}") + 1])
    return float(measured["input_i"]), float(measured["input_tp"])


def rms(path: Path, start: float, seconds: float, band: str = "anull") -> float:
    """RMS level (dBFS) of the audio from `start` for `seconds`, through `band`; -inf for digital silence."""
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-ss", str(start), "-t", str(seconds), "-i", str(path),
         "-map", "0:a:0", "-af", f"{band},astats=measure_overall=RMS_level:measure_perchannel=none",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    return float(re.findall(r"RMS level dB: (\S+)", out)[-1])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("audio")
    paths = {"still": root / "still.png", "voice": root / "voice.wav", "music": root / "music.flac", "root": root}
    Image.new("RGB", (180, 320), "navy").save(paths["still"])
    speech_like_voice(paths["voice"])
    low_music(paths["music"])
    return paths


def plan_for(inputs: dict[str, Path], name: str, music: bool) -> RenderPlan:
    return RenderPlan(
        stills=[Still(str(inputs["still"]), SECONDS)],
        audio_path=str(inputs["voice"]),
        output_path=str(inputs["root"] / f"{name}.mp4"),
        width=180,
        height=320,
        preset="ultrafast",
        music_path=str(inputs["music"]) if music else None,
    )


@pytest_asyncio.fixture(scope="module")
async def with_music(inputs: dict[str, Path]) -> RenderResult:
    return await render(plan_for(inputs, "with_music", music=True))


@pytest_asyncio.fixture(scope="module")
async def without_music(inputs: dict[str, Path]) -> RenderResult:
    return await render(plan_for(inputs, "without_music", music=False))


async def test_every_video_is_normalised_for_youtube(with_music: RenderResult, without_music: RenderResult) -> None:
    for result in (with_music, without_music):
        integrated, true_peak = loudness(Path(result.output_path))
        assert -15.0 <= integrated <= -13.0 and true_peak <= -1.0, (result.output_path, integrated, true_peak)
        # Measured first, the mix needs only a gain: the render lands well inside QA's window, not on its edge.
        assert integrated == pytest.approx(-14.0, abs=0.5), result.output_path


async def test_the_levels_are_measured_before_the_render(with_music: RenderResult, inputs: dict[str, Path]) -> None:
    assert with_music.levels is not None and with_music.measure_seconds > 0
    # The voice alone, as ffmpeg measures it, is what the render levelled from (mono counts as both channels).
    voice, _ = loudness(inputs["voice"])
    assert with_music.levels.voice_lufs == pytest.approx(voice, abs=0.5)
    assert with_music.levels.music_lufs is not None and with_music.levels.mix_lufs is not None


async def test_the_music_ducks_while_the_voice_speaks_and_comes_back_in_a_pause(with_music: RenderResult) -> None:
    video = Path(with_music.output_path)
    speaking = rms(video, 1.5, 2.0, MUSIC_BAND)
    pausing = rms(video, 5.0, 1.5, MUSIC_BAND)
    assert pausing - speaking >= 6.0, (speaking, pausing)
    # The track is 3 s long: music in the pause from 5 s is the track looped.
    assert pausing > -40.0
    # Ducked or not, the voice stands well above the music while it speaks.
    assert rms(video, 1.5, 2.0, VOICE_BAND) - speaking >= 10.0


async def test_the_music_fades_in_and_out(with_music: RenderResult) -> None:
    video = Path(with_music.output_path)
    pausing = rms(video, 5.0, 1.5, MUSIC_BAND)
    assert pausing - rms(video, 0.0, 0.25, MUSIC_BAND) >= 12.0  # the voice starts at 1 s: this is the fade
    assert pausing - rms(video, SECONDS - 0.3, 0.25, MUSIC_BAND) >= 12.0  # and the voice stopped at 9 s


async def test_without_music_there_is_no_music_input_and_pauses_are_silent(
    without_music: RenderResult, inputs: dict[str, Path]
) -> None:
    plan = plan_for(inputs, "argv", music=False)
    argv = build_argv(replace(plan, levels=AudioLevels(voice_lufs=-30.0, mix_lufs=-25.0)))
    assert argv.count("-i") == 2 and str(inputs["music"]) not in argv  # the still and the voice
    graph = argv[argv.index("-filter_complex") + 1]
    assert "sidechaincompress" not in graph and "amix" not in graph
    video = Path(without_music.output_path)
    assert rms(video, 4.5, 2.0) < -80.0  # digital silence reads -inf
    assert rms(video, 1.5, 2.0) > -30.0  # and the voice is there


LOOP_RATE = 48000
# A 110 Hz tone about 2 s long that stops a quarter cycle in, at its peak: repeated with a hard cut, the wave jumps
# from its crest to zero at every seam, which is the click a looped track made.
LOOP_TRACK_SAMPLES = 2 * LOOP_RATE + round(0.25 * LOOP_RATE / 110)
LOOP_WINDOW = LOOP_RATE // 50  # 20 ms


def seam_track(path: Path) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc=0.5*sin(2*PI*110*t):s={LOOP_RATE}",
        "-af", f"atrim=end_sample={LOOP_TRACK_SAMPLES}", "-c:a", "pcm_f32le", str(path),
    )  # fmt: skip


def samples(path: Path) -> array[float]:
    """The file's audio as 48 kHz mono floats."""
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path), "-map", "0:a:0",
         "-ac", "1", "-ar", str(LOOP_RATE), "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return array("f", raw)


def window_steps_and_levels(wave: array[float], start: float, end: float) -> tuple[list[float], list[float]]:
    """Per 20 ms window from `start` to `end` seconds: the largest jump between neighbouring samples, and the RMS
    level in dB."""
    steps, levels = [], []
    for first in range(round(start * LOOP_RATE), round(end * LOOP_RATE) - LOOP_WINDOW, LOOP_WINDOW):
        window = wave[first : first + LOOP_WINDOW + 1]
        steps.append(max(abs(b - a) for a, b in pairwise(window)))
        levels.append(10 * math.log10(sum(x * x for x in window) / len(window)))
    return steps, levels


async def test_a_looped_track_has_no_seam(inputs: dict[str, Path]) -> None:
    root = inputs["root"]
    track, silence = root / "seam.wav", root / "silence.wav"
    seam_track(track)
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=r={LOOP_RATE}:cl=mono", "-t", str(SECONDS), str(silence))
    # The music alone: a silent voice neither ducks it nor covers a click.
    plan = replace(plan_for(inputs, "seams", music=True), audio_path=str(silence), music_path=str(track))
    wave = samples(Path((await render(plan)).output_path))
    # Between the fade in (1.5 s) and the fade out (from 7.5 s) the track starts again four times.
    steps, levels = window_steps_and_levels(wave, 1.75, 7.25)
    typical_step, typical_level = statistics.median(steps), statistics.median(levels)
    # The tone moves at most 1.4 % of its amplitude from one sample to the next, and so does the looped bed, seams
    # included: looped with a hard cut, its largest step was 56 times the typical one.
    assert max(steps) < 2 * typical_step, (max(steps) / typical_step, steps.index(max(steps)))
    # and a repeat neither dips nor swells where it overlaps the previous one.
    assert max(abs(level - typical_level) for level in levels) < 3.0, (min(levels), max(levels), typical_level)
