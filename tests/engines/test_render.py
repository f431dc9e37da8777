"""Render step: golden argv (no ffmpeg), duration math, encoder choice, and short real renders."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pynvml
import pytest
from PIL import Image

from engines.render import (
    AudioLevels,
    FFmpegError,
    RenderPlan,
    RenderProgress,
    Still,
    build_argv,
    choose_encoder,
    plan_stills,
    render,
    run_ffmpeg,
)
from engines.render import encoder as encoder_mod
from engines.render.graph import frame_counts, frames_total, level_argv, mix_level_argv
from engines.render.runner import parse_progress_block

REPO = Path(__file__).resolve().parents[2]
SLIDES = [1.3, 1.4, 1.3]  # narration timing; adds up to the 4 s audio
ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 1080
PlayResY: 1920

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, \
MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,80,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,1,0,0,0,100,100,0,0,1,4,0,2,60,60,300,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:03.00,Default,,0,0,0,,Hello captions
"""


# ---------- fixtures ----------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | list[Path]]:
    """Three differently sized/coloured stills, 4 s of mono sine, and an .ass file in an awkward path."""
    root = tmp_path_factory.mktemp("render")
    sizes = [(800, 1200), (1100, 700), (1080, 1920)]  # taller, wider, exact: all must end up 1080x1920
    stills = []
    for i, (colour, size) in enumerate(zip(["red", "green", "blue"], sizes, strict=True)):
        path = root / f"still{i}.png"
        Image.new("RGB", size, colour).save(path)
        stills.append(path)
    audio = root / "narration.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=4", str(audio)],
        check=True,
    )
    # Quote, comma, brackets, colon, semicolon: each is special to the filtergraph parser.
    odd_dir = root / "it's, [odd]:dir;"
    odd_dir.mkdir()
    captions = odd_dir / "captions.ass"
    captions.write_text(ASS)
    return {"stills": stills, "audio": audio, "captions": captions, "root": root}


@pytest.fixture(scope="module")
def clip(media: dict) -> Path:
    """A user's clip: 1 s (shorter than its slot, so it loops), 4:3 at 25 fps, with a sound track to ignore."""
    path = media["root"] / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=880:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _plan(media: dict, out: Path, **kw: object) -> RenderPlan:
    crossfade = float(kw.pop("crossfade", 0.0))  # type: ignore[arg-type]
    stills = plan_stills(SLIDES, [str(p) for p in media["stills"]], crossfade)
    return RenderPlan(
        stills=stills,
        audio_path=str(media["audio"]),
        output_path=str(out),
        crossfade=crossfade,
        **kw,  # type: ignore[arg-type]
    )


LEVELS = AudioLevels(voice_lufs=-23.5, mix_lufs=-21.25)  # as if measured: argv tests run no ffmpeg


def _bare_plan(**kw: object) -> RenderPlan:
    stills = kw.pop("stills", [Still("/in/a.png", 2.0), Still("/in/b.png", 2.0)])
    kw.setdefault("levels", LEVELS)
    return RenderPlan(stills=stills, audio_path="/in/voice.wav", output_path="/out/v.mp4", **kw)  # type: ignore[arg-type]


def _arg(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def _probe(path: Path | str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def _assert_upload_ready(path: Path, plan: RenderPlan) -> None:
    facts = _probe(path)
    video = next(s for s in facts["streams"] if s["codec_type"] == "video")
    audio = next(s for s in facts["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 1080, 1920)
    assert video["pix_fmt"] == "yuv420p"
    assert video["r_frame_rate"] == "30/1" and video["avg_frame_rate"] == "30/1"
    assert (audio["codec_name"], audio["sample_rate"]) == ("aac", "48000")
    assert abs(float(facts["format"]["duration"]) - plan.duration) < 0.1
    assert abs(float(video["duration"]) - plan.duration) < 0.1
    assert int(video["nb_frames"]) == frames_total(plan)


def _child_ffmpeg_pids(parent: int) -> list[int]:
    pids = []
    for children in Path(f"/proc/{parent}/task").glob("*/children"):
        for pid in children.read_text().split():
            if Path(f"/proc/{pid}/comm").read_text().strip() == "ffmpeg":
                pids.append(int(pid))
    return pids


def _gone(pid: int) -> bool:
    """Exited: no /proc entry, or a zombie whose reaper (PID 1 here) has not run yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # reaped between open and read
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# ---------- argv (no ffmpeg run) ----------


def test_hard_cut_argv_is_golden() -> None:
    argv = build_argv(_bare_plan(captions_path="/in/caps.ass"))
    fit = (
        "scale=force_original_aspect_ratio=increase:h=1920:w=1080[{0}];[{0}]crop=h=1920:w=1080[{1}];"
        "[{1}]setsar=1[{2}];[{2}]format=yuv420p[{3}];[{3}]loop=loop=59:size=1[{4}];[{4}]setpts=N/(30*TB)[{5}]"
    )
    graph = (
        "[0:v]" + fit.format("s0", "s1", "s2", "s3", "s4", "s5") + ";"
        "[1:v]" + fit.format("s6", "s7", "s8", "s9", "s10", "s11") + ";"
        "[s5][s11]concat=a=0:n=2:v=1[s12];[s12]ass=filename=/in/caps.ass:shaping=complex[s13];"
        "[s13]format=yuv420p[s14];"
        # The voice levelled to -20 LUFS (+3.5 dB), compressed and limited; the mix measured at -21.25 LUFS raised
        # 7.25 dB to -14 under a safety limiter, oversampled 4x.
        "[2:a]aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=48000[s15];[s15]volume=3.5dB[s16];"
        "[s16]acompressor=attack=10:makeup=5dB:ratio=2:release=150:threshold=-28dB[s17];"
        "[s17]alimiter=attack=5:level=false:limit=-12dB:release=50[s18];[s18]volume=7.25dB[s19];"
        "[s19]aresample=192000[s20];[s20]alimiter=attack=5:level=false:limit=-2dB:release=50[s21];"
        "[s21]aresample=48000[s22]"
    )
    assert argv == [
        "ffmpeg",
        "-framerate", "30", "-protocol_whitelist", "file", "-i", "/in/a.png",
        "-framerate", "30", "-protocol_whitelist", "file", "-i", "/in/b.png",
        "-protocol_whitelist", "file", "-i", "/in/voice.wav",
        "-filter_complex", graph,
        "-map", "[s14]", "-map", "[s22]",
        "-f", "mp4", "-b:a", "192k", "-acodec", "aac", "-ar", "48000", "-bufsize", "16M", "-crf", "23",
        "-g", "60", "-maxrate", "8M", "-movflags", "+faststart", "-pix_fmt", "yuv420p",
        "-preset", "veryfast", "-r", "30", "-t", "4", "-vcodec", "libx264",
        "/out/v.mp4",
        "-hide_banner", "-progress", "pipe:1", "-nostats", "-y",
    ]  # fmt: skip


# A 2.5 s track under 4 s of video: played twice, the second time crossfaded into the first.
MUSIC_LEVELS = AudioLevels(voice_lufs=-23.5, music_lufs=-9.0, mix_lufs=-21.25, music_seconds=2.5)
# The voice levelled to -20 LUFS, compressed, limited and split: one branch is heard, the other is the sidechain.
VOICE = (
    "[{v}]aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=48000[s{0}];[s{0}]volume=3.5dB[s{1}];"
    "[s{1}]acompressor=attack=10:makeup=5dB:ratio=2:release=150:threshold=-28dB[s{2}];"
    "[s{2}]alimiter=attack=5:level=false:limit=-12dB:release=50[s{3}];[s{3}]asplit=2[s{4}][s{5}];"
)
# Each repeat of the track an input of its own, the second faded in over the first's last quarter (equal power), cut
# to the video's 4 s, 12 dB under the voice (-9 LUFS -> -32), faded in and out over a quarter of the video each,
# ducked by the voice and mixed under it at full level.
MUSIC = (
    "[{m}]aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=48000[s{6}];"
    "[{m2}]aformat=channel_layouts=stereo:sample_fmts=fltp:sample_rates=48000[s{7}];"
    "[s{6}][s{7}]acrossfade=c1=qsin:c2=qsin:d=0.625[s{8}];[s{8}]atrim=duration=4[s{9}];"
    "[s{9}]volume=-23dB[s{10}];[s{10}]afade=d=1:t=in[s{11}];[s{11}]afade=d=1:st=3:t=out[s{12}];"
    "[s{12}][s{5}]sidechaincompress=attack=20:ratio=6:release=300:threshold=0.02[s{13}];"
    "[s{4}][s{13}]amix=duration=first:inputs=2:normalize=false[s{14}]"
)
MUSIC_INPUTS = ["-protocol_whitelist", "file", "-i", "/in/calm/rain.mp3"] * 2


def _labels(first: int) -> list[int]:
    return [first + k for k in range(15)]


def test_music_argv_loops_fades_ducks_and_mixes_under_the_voice() -> None:
    argv = build_argv(_bare_plan(music_path="/in/calm/rain.mp3", levels=MUSIC_LEVELS))
    assert argv[: argv.index("-filter_complex")] == [
        "ffmpeg",
        "-framerate", "30", "-protocol_whitelist", "file", "-i", "/in/a.png",
        "-framerate", "30", "-protocol_whitelist", "file", "-i", "/in/b.png",
        "-protocol_whitelist", "file", "-i", "/in/voice.wav",
        *MUSIC_INPUTS,
    ]  # fmt: skip
    graph = _arg(argv, "-filter_complex")
    labels = _labels(14)
    audio = VOICE.format(*labels, v="2:a") + MUSIC.format(*labels, m="3:a", m2="4:a")
    # The mix measured at -21.25 LUFS: 7.25 dB up to -14, under the safety limiter (oversampled 4x).
    assert graph[graph.index("[2:a]") :] == audio + (
        ";[s28]volume=7.25dB[s29];[s29]aresample=192000[s30];"
        "[s30]alimiter=attack=5:level=false:limit=-2dB:release=50[s31];[s31]aresample=48000[s32]"
    )
    assert argv[argv.index("-filter_complex") + 2 : argv.index("-filter_complex") + 6] == [
        "-map", "[s13]", "-map", "[s32]",
    ]  # fmt: skip


def test_music_repeats_only_when_shorter_than_the_video_and_only_once_measured() -> None:
    def music_graph(seconds: float | None) -> str:
        plan = _bare_plan(music_path="/in/calm/rain.mp3", levels=replace(MUSIC_LEVELS, music_seconds=seconds))
        return _arg(build_argv(plan), "-filter_complex")

    assert "acrossfade" not in music_graph(4.0)  # as long as the video: played once
    # 1.5 s: crossfades of 0.375 s (a quarter of the track, so a repeat's two fades never meet), four plays.
    assert music_graph(1.5).count("acrossfade=c1=qsin:c2=qsin:d=0.375") == 3
    with pytest.raises(ValueError, match="music's length is not measured"):
        music_graph(None)


def test_the_loudness_passes_measure_what_the_render_mixes() -> None:
    plan = _bare_plan(music_path="/in/calm/rain.mp3", levels=MUSIC_LEVELS)
    # Each input as the mix hears it (48 kHz stereo), the music over the part that plays, and how long that is.
    assert level_argv("/in/calm/rain.mp3", seconds=plan.duration) == [
        "ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-protocol_whitelist", "file", "-t", "4",
        "-i", "/in/calm/rain.mp3", "-map", "0:a:0",
        "-af", "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,ebur128=framelog=verbose,"
        "astats=measure_overall=Number_of_samples:measure_perchannel=none",
        "-f", "null", "-",
    ]  # fmt: skip
    # The mix itself, audio only, with the same graph as the render's up to the final gain.
    labels = _labels(0)
    assert mix_level_argv(plan, MUSIC_LEVELS) == [
        "ffmpeg",
        "-protocol_whitelist", "file", "-i", "/in/voice.wav",
        *MUSIC_INPUTS,
        "-filter_complex",
        VOICE.format(*labels, v="0:a") + MUSIC.format(*labels, m="1:a", m2="2:a")
        + ";[s14]ebur128=framelog=verbose[s15]",
        "-map", "[s15]", "-f", "null", "-", "-hide_banner", "-nostats", "-nostdin",
    ]  # fmt: skip


def test_a_plan_without_measured_levels_has_no_argv() -> None:
    with pytest.raises(ValueError, match="not measured"):
        build_argv(_bare_plan(levels=None))


def test_motion_crossfade_argv_uses_zoompan_and_chained_xfade() -> None:
    stills = plan_stills([2.0, 2.0, 2.0], ["/in/a.png", "/in/b.png", "/in/c.png"], 0.5)
    graph = _arg(build_argv(_bare_plan(stills=stills, motion=True, crossfade=0.5)), "-filter_complex")
    assert graph.count("zoompan=") == 3 and "loop=" not in graph and "concat=" not in graph
    assert "scale=force_original_aspect_ratio=increase:h=2880:w=1620" in graph  # supersampled 1.5x
    assert "zoompan=d=68:fps=30:s=1080x1920" in graph  # first still: 2.25 s, cut on the frame grid
    # Each still's motion differs: zoom in, zoom out, pan.
    assert "z=1+0.15*on/" in graph and "z=1+0.15*(1-on/" in graph and "x=(iw-iw/zoom)*on/" in graph
    # Offsets: 68 - 15 frames, then (68 + 74 - 15) - 15 frames; 6 s in all.
    assert "xfade=duration=0.5:offset=1.766667:transition=fade" in graph
    assert "xfade=duration=0.5:offset=3.733333:transition=fade" in graph


def test_hard_cut_with_crossfade_uses_loop_and_xfade() -> None:
    stills = plan_stills([2.0, 2.0], ["/in/a.png", "/in/b.png"], 1.0)
    graph = _arg(build_argv(_bare_plan(stills=stills, crossfade=1.0)), "-filter_complex")
    assert graph.count("]loop=") == 2 and graph.count("xfade=") == 1 and "zoompan" not in graph


def test_caption_path_is_escaped_for_the_filtergraph() -> None:
    graph = _arg(build_argv(_bare_plan(captions_path="/in/it's, [x]:y;.ass")), "-filter_complex")
    # Two levels: option value (\ ' : =) then graph ([ ] , ; and the first level's backslashes).
    assert r"ass=filename=/in/it\\\'s\, \[x\]\\:y\;.ass" in graph


def test_no_captions_means_no_caption_filter() -> None:
    assert "ass=" not in _arg(build_argv(_bare_plan()), "-filter_complex")


def test_repeated_still_is_decoded_once_and_split() -> None:
    stills = [Still("/in/a.png", 1.0), Still("/in/b.png", 1.0), Still("/in/a.png", 1.0)]
    argv = build_argv(_bare_plan(stills=stills))
    assert argv.count("-i") == 3  # a, b, audio
    assert "split=2" in _arg(argv, "-filter_complex")


def test_a_clip_plays_for_its_slot_without_ken_burns() -> None:
    stills = [Still("/in/a.png", 2.0), Still("/in/clip.MOV", 2.0), Still("/in/b.png", 2.0)]
    argv = build_argv(_bare_plan(stills=stills, motion=True))
    assert argv[argv.index("/in/clip.MOV") - 3 : argv.index("/in/clip.MOV")] == ["-stream_loop", "-1", "-i"]
    graph = _arg(argv, "-filter_complex")
    assert graph.count("zoompan=") == 2  # the images move; the clip brings its own motion
    assert "crop=h=1920:w=1080" in graph  # the clip is fitted at the output size, not supersampled
    assert "fps=30[" in graph and "trim=end_frame=60[" in graph and "setpts=PTS-STARTPTS" in graph


def test_a_repeated_clip_gets_an_input_per_use_further_in() -> None:
    stills = [Still("/in/c.mp4", 1.0), Still("/in/a.png", 1.0), Still("/in/c.mp4", 1.0)]
    argv = build_argv(_bare_plan(stills=stills))
    assert argv.count("/in/c.mp4") == 2 and "split" not in _arg(argv, "-filter_complex")
    assert argv[argv.index("-ss") : argv.index("-ss") + 2] == ["-ss", "3"]


def test_nvenc_flags_replace_crf() -> None:
    argv = build_argv(_bare_plan(encoder="h264_nvenc"))
    assert _arg(argv, "-vcodec") == "h264_nvenc"
    assert (_arg(argv, "-preset"), _arg(argv, "-tune"), _arg(argv, "-rc"), _arg(argv, "-cq")) == (
        "p4", "hq", "vbr", "23",
    )  # fmt: skip
    assert _arg(argv, "-b:v") == "0" and "-crf" not in argv
    assert _arg(argv, "-maxrate") == "8M" and _arg(argv, "-bufsize") == "16M"


def test_progress_flags_are_optional() -> None:
    quiet = build_argv(_bare_plan(), progress=False)
    assert "-progress" not in quiet and "-nostats" not in quiet and "-hide_banner" in quiet and "-y" in quiet


def test_plan_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="encoder"):
        _bare_plan(encoder="libx265")
    with pytest.raises(ValueError, match="even"):
        _bare_plan(width=1081)
    with pytest.raises(ValueError, match="crossfade"):
        _bare_plan(stills=[Still("/a.png", 0.4), Still("/b.png", 2.0)], crossfade=0.5)
    with pytest.raises(ValueError, match="shortest slide"):
        plan_stills([0.4, 2.0], ["/a.png", "/b.png"], 0.5)
    with pytest.raises(ValueError, match="durations"):
        plan_stills([1.0], ["/a.png", "/b.png"])


# ---------- duration math ----------


@pytest.mark.parametrize("crossfade", [0.0, 0.5, 0.37])
def test_crossfaded_video_ends_with_the_narration(crossfade: float) -> None:
    slides = [3.1, 7.45, 12.0, 5.33, 9.9, 22.22]  # 60.0 s of narration
    stills = plan_stills(slides, [f"/s{i}.png" for i in range(6)], crossfade)
    plan = _bare_plan(stills=stills, crossfade=crossfade)
    assert plan.duration == pytest.approx(sum(slides))
    assert frames_total(plan) == round(sum(slides) * 30)
    # Transitions are centred on the narration boundaries: inner stills gain a whole crossfade.
    assert [s.duration for s in stills] == pytest.approx(
        [slides[0] + crossfade / 2, *(d + crossfade for d in slides[1:-1]), slides[-1] + crossfade / 2]
    )


def test_frame_counts_do_not_drift_with_rounding() -> None:
    plan = _bare_plan(stills=[Still(f"/s{i}.png", 1.01) for i in range(10)])  # 30.3 frames each
    counts = frame_counts(plan)
    assert sum(counts) == 303 and set(counts) == {30, 31}


def test_parse_progress_block() -> None:
    block = {"out_time_us": "1500000", "out_time_ms": "1500000", "speed": "2.5x", "progress": "continue"}
    assert parse_progress_block(block, 3.0) == RenderProgress(0.5, 1.5, 2.5)
    assert parse_progress_block({"out_time_us": "N/A", "speed": "N/A", "progress": "continue"}, 3.0) == (
        RenderProgress(0.0, 0.0, None)
    )
    assert parse_progress_block({"out_time_us": "2900000", "progress": "end"}, 3.0).fraction == 1.0


# ---------- encoder choice ----------


def test_choose_encoder_falls_back_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_mod, "ffmpeg_encoders", lambda _bin="ffmpeg": frozenset({"libx264", "h264_nvenc"}))

    def no_library() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_library)
    choice = choose_encoder(prefer_gpu=True)
    assert (choice.name, choice.gpu) == ("libx264", False)
    assert choice.reason == "no NVIDIA GPU visible to NVML (NVMLError_LibraryNotFound); using libx264"


def test_choose_encoder_picks_nvenc_with_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_mod, "ffmpeg_encoders", lambda _bin="ffmpeg": frozenset({"libx264", "h264_nvenc"}))
    monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 1)
    monkeypatch.setattr(encoder_mod, "nvenc_probe", lambda _bin="ffmpeg": "")
    assert choose_encoder(prefer_gpu=True).name == "h264_nvenc"
    assert choose_encoder(prefer_gpu=False).name == "libx264"
    monkeypatch.setattr(encoder_mod, "ffmpeg_encoders", lambda _bin="ffmpeg": frozenset({"libx264"}))
    assert "does not list h264_nvenc" in choose_encoder(prefer_gpu=True).reason


def test_choose_encoder_needs_a_working_nvenc_not_just_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """An H100 or H200 has no NVENC engine: ffmpeg lists h264_nvenc, NVML sees the GPU, the encode fails."""
    monkeypatch.setattr(encoder_mod, "ffmpeg_encoders", lambda _bin="ffmpeg": frozenset({"libx264", "h264_nvenc"}))
    monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 1)
    failed = "a h264_nvenc probe encode failed (OpenEncodeSessionEx failed: unsupported device (2): (no details))"
    monkeypatch.setattr(encoder_mod, "nvenc_probe", lambda _bin="ffmpeg": failed)
    choice = choose_encoder(prefer_gpu=True)
    assert (choice.name, choice.gpu) == ("libx264", False)
    assert choice.reason == f"1 NVIDIA GPU(s) visible to NVML, but {failed}; using libx264"


def test_choose_encoder_on_this_machine() -> None:
    assert {"libx264", "aac"} <= encoder_mod.ffmpeg_encoders()
    gpus, why = encoder_mod.nvml_gpu_count()
    choice = choose_encoder(prefer_gpu=True)
    if gpus == 0:  # CI and dev boxes: NVML finds no driver, and a probe encode fails cleanly with the reason
        assert (choice.name, choice.gpu) == ("libx264", False) and why in choice.reason
        assert encoder_mod.nvenc_probe().startswith("a h264_nvenc probe encode failed (")
    elif encoder_mod.nvenc_probe() == "":
        assert (choice.name, choice.gpu) == ("h264_nvenc", True)
    else:  # a GPU without NVENC (A100, H100, H200) or a container without the driver's video libraries
        assert (choice.name, choice.gpu) == ("libx264", False) and encoder_mod.nvenc_probe() in choice.reason


# ---------- real renders (short: 4 s) ----------


async def test_hard_cut_render_with_captions_and_progress(media: dict, tmp_path: Path) -> None:
    plan = _plan(media, tmp_path / "simple.mp4", captions_path=str(media["captions"]))
    seen: list[RenderProgress] = []
    result = await render(plan, on_progress=seen.append)
    _assert_upload_ready(tmp_path / "simple.mp4", plan)
    assert result.output_path == plan.output_path and result.encoder == "libx264"
    assert result.realtime_factor == pytest.approx(plan.duration / result.seconds_wall)
    fractions = [p.fraction for p in seen]
    assert len(fractions) >= 2 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[-1].out_seconds == pytest.approx(plan.duration, abs=0.1)
    assert list(tmp_path.glob("*.partial.mp4")) == []


async def test_motion_crossfade_render(media: dict, tmp_path: Path) -> None:
    plan = _plan(media, tmp_path / "motion.mp4", motion=True, crossfade=0.5, captions_path=str(media["captions"]))
    await render(plan)
    _assert_upload_ready(tmp_path / "motion.mp4", plan)


@pytest.mark.parametrize(("motion", "crossfade"), [(False, 0.0), (True, 0.5)])
async def test_render_with_a_users_clip(
    media: dict, clip: Path, tmp_path: Path, motion: bool, crossfade: float
) -> None:
    paths = [str(media["stills"][0]), str(clip), str(media["stills"][2])]
    plan = RenderPlan(
        stills=plan_stills(SLIDES, paths, crossfade),
        audio_path=str(media["audio"]),
        output_path=str(tmp_path / "clip.mp4"),
        motion=motion,
        crossfade=crossfade,
    )
    await render(plan)
    _assert_upload_ready(tmp_path / "clip.mp4", plan)  # exact frame count although the clip is 25 fps and short
    streams = _probe(tmp_path / "clip.mp4")["streams"]
    assert [s["codec_type"] for s in streams].count("audio") == 1  # the narration only, never the clip's sound


async def test_cancel_kills_ffmpeg_and_removes_partial(media: dict, tmp_path: Path) -> None:
    stills = [Still(str(p), 20.0) for p in media["stills"]]  # 60 s of video
    plan = RenderPlan(
        stills=stills, audio_path=str(media["audio"]), output_path=str(tmp_path / "long.mp4"),
        width=360, height=640, preset="ultrafast",
    )  # fmt: skip
    started = asyncio.Event()
    task = asyncio.create_task(render(plan, on_progress=lambda p: p.fraction > 0 and started.set()))
    await asyncio.wait_for(started.wait(), 20)
    pids = _child_ffmpeg_pids(os.getpid())
    assert len(pids) == 1 and list(tmp_path.glob("*.partial.mp4"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _gone(pids[0])
    assert list(tmp_path.iterdir()) == []


async def test_bad_input_raises_ffmpeg_error_with_stderr(media: dict, tmp_path: Path) -> None:
    plan = RenderPlan(
        stills=[Still(str(tmp_path / "missing.png"), 2.0)], audio_path=str(media["audio"]),
        output_path=str(tmp_path / "bad.mp4"),
    )  # fmt: skip
    with pytest.raises(FFmpegError) as err:
        await render(plan)
    assert err.value.returncode != 0
    assert "missing.png" in err.value.stderr_tail and "No such file or directory" in err.value.stderr_tail
    assert list(tmp_path.iterdir()) == []


WORKER = """
import asyncio, sys
sys.path.insert(0, {repo!r})
from engines.render.runner import run_ffmpeg
argv = ["ffmpeg", "-re", "-f", "lavfi", "-i", "nullsrc=s=16x16:r=10:d=60", "-f", "null", "-",
        "-progress", "pipe:1", "-nostats"]
asyncio.run(run_ffmpeg(argv, total_seconds=60, on_progress=lambda p: print("progress", flush=True)))
"""


async def test_ffmpeg_dies_with_a_killed_worker(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(repo=str(REPO)))
    worker = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=asyncio.subprocess.PIPE)
    assert worker.stdout is not None
    await asyncio.wait_for(worker.stdout.readline(), 20)
    (ffmpeg_pid,) = _child_ffmpeg_pids(worker.pid)
    worker.send_signal(signal.SIGKILL)  # no finally blocks run: only PR_SET_PDEATHSIG can stop ffmpeg
    await worker.wait()
    for _ in range(100):  # the kernel signals at once; allow 5 s for scheduling
        if _gone(ffmpeg_pid):
            break
        await asyncio.sleep(0.05)
    assert _gone(ffmpeg_pid)


async def test_run_ffmpeg_reports_end_of_progress(tmp_path: Path) -> None:
    argv = ["ffmpeg", "-f", "lavfi", "-i", "testsrc2=s=64x64:r=30:d=1", "-f", "null", "-",
            "-progress", "pipe:1", "-nostats"]  # fmt: skip
    seen: list[RenderProgress] = []
    await run_ffmpeg(argv, total_seconds=1.0, on_progress=seen.append)
    assert seen[-1].fraction == 1.0
