"""Quality validation: rules over hand-made facts, parsers over captured output, and real ffmpeg clips."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from engines.loudness import Loudness, parse_ebur128
from engines.quality.facts import MediaFacts, ProbeError, facts_from_ffprobe_json, probe
from engines.quality.rules import (
    QualityExpectations,
    QualityReport,
    check,
    check_audio_codec,
    check_black,
    check_duration,
    check_loudness,
    check_resolution,
    check_true_peak,
    check_video_codec,
)
from engines.quality.signal import (
    SignalError,
    SignalFacts,
    analyze_signal,
    parse_black_segments,
    parse_integrated_lufs,
    signal_argv,
)
from engines.quality.validate import validate_media

GOOD_FACTS = MediaFacts(
    duration=60.02,
    width=1080,
    height=1920,
    video_codec="h264",
    audio_codec="aac",
    audio_sample_rate=48000,
    fps=30.0,
    size_bytes=12_000_000,
)
GOOD_SIGNAL = SignalFacts(integrated_lufs=-14.2, black_segments=[], true_peak_dbtp=-2.1)
EXPECT = QualityExpectations(duration=60.0, width=1080, height=1920)


def codes(issues) -> list[str]:
    return [issue.code for issue in issues]


# --- rules ----------------------------------------------------------------------------------------------


def test_good_facts_pass_every_rule() -> None:
    assert check(GOOD_FACTS, GOOD_SIGNAL, EXPECT) == []
    report = QualityReport.build(GOOD_FACTS, GOOD_SIGNAL, EXPECT)
    assert report.passed and report.issues == []


def test_duration_rule() -> None:
    issues = check_duration(replace(GOOD_FACTS, duration=58.1), GOOD_SIGNAL, EXPECT)
    assert codes(issues) == ["duration_mismatch"]
    assert issues[0].message == "video is 58.1 s but narration is 60.0 s (tolerance 0.5 s)"
    assert check_duration(replace(GOOD_FACTS, duration=60.5), GOOD_SIGNAL, EXPECT) == []
    assert check_duration(replace(GOOD_FACTS, duration=59.5), GOOD_SIGNAL, EXPECT) == []


def test_resolution_rule() -> None:
    issues = check_resolution(replace(GOOD_FACTS, width=1920, height=1080), GOOD_SIGNAL, EXPECT)
    assert codes(issues) == ["wrong_resolution"]
    assert issues[0].message == "video is 1920x1080 but 1080x1920 was expected"
    assert check_resolution(GOOD_FACTS, GOOD_SIGNAL, EXPECT) == []


def test_video_codec_rule() -> None:
    issues = check_video_codec(replace(GOOD_FACTS, video_codec="hevc"), GOOD_SIGNAL, EXPECT)
    assert codes(issues) == ["wrong_video_codec"]
    assert "hevc" in issues[0].message and "h264" in issues[0].message
    no_video = replace(GOOD_FACTS, video_codec=None, width=0, height=0)
    assert codes(check(no_video, GOOD_SIGNAL, EXPECT)) == ["no_video"]  # and no resolution noise
    assert check_video_codec(GOOD_FACTS, GOOD_SIGNAL, EXPECT) == []


def test_audio_codec_rule() -> None:
    no_audio = replace(GOOD_FACTS, audio_codec=None, audio_sample_rate=None)
    # Loudness is not reported again on top of the missing stream.
    assert codes(check(no_audio, SignalFacts(None, []), EXPECT)) == ["no_audio"]
    assert codes(check_audio_codec(replace(GOOD_FACTS, audio_codec="mp3"), GOOD_SIGNAL, EXPECT)) == [
        "wrong_audio_codec"
    ]
    assert check_audio_codec(GOOD_FACTS, GOOD_SIGNAL, EXPECT) == []


@pytest.mark.parametrize(
    ("lufs", "words"),
    [
        (-24.3, "too quiet at -24.3 LUFS"),
        (-15.2, "too quiet at -15.2 LUFS"),
        (-12.8, "too loud at -12.8 LUFS"),
        (-6.0, "too loud at -6.0 LUFS"),
        (None, "silent"),
    ],
)
def test_loudness_rule_fails(lufs: float | None, words: str) -> None:
    issues = check_loudness(GOOD_FACTS, SignalFacts(lufs, []), EXPECT)
    assert codes(issues) == ["loudness_out_of_range"]
    assert words in issues[0].message and "-15 to -13 LUFS" in issues[0].message  # YouTube's -14 ± 1


@pytest.mark.parametrize("lufs", [-15.0, -14.0, -13.0])
def test_loudness_rule_passes(lufs: float) -> None:
    assert check_loudness(GOOD_FACTS, SignalFacts(lufs, []), EXPECT) == []


def test_true_peak_rule() -> None:
    issues = check_true_peak(GOOD_FACTS, replace(GOOD_SIGNAL, true_peak_dbtp=-0.4), EXPECT)
    assert codes(issues) == ["true_peak_too_high"]
    assert issues[0].message.startswith("audio peaks at -0.4 dBTP, above the -1 dBTP ceiling")
    assert check_true_peak(GOOD_FACTS, replace(GOOD_SIGNAL, true_peak_dbtp=-1.0), EXPECT) == []
    # Silence and a missing stream are the loudness and audio rules' to report.
    assert check_true_peak(GOOD_FACTS, replace(GOOD_SIGNAL, true_peak_dbtp=None), EXPECT) == []
    mute = replace(GOOD_FACTS, audio_codec=None)
    assert check_true_peak(mute, replace(GOOD_SIGNAL, true_peak_dbtp=0.5), EXPECT) == []


def test_black_rule() -> None:
    signal = SignalFacts(-14.0, [(0.0, 0.4), (12.0, 14.5), (30.0, 31.0)])
    issues = check_black(GOOD_FACTS, signal, EXPECT)
    assert codes(issues) == ["black_segment"]
    assert issues[0].message == "black picture for 2.5 s from 12.0 s to 14.5 s (at most 1 s allowed)"
    assert check_black(GOOD_FACTS, signal, replace(EXPECT, max_black_seconds=3.0)) == []


def test_check_reports_every_failure_and_report_serialises() -> None:
    facts = replace(GOOD_FACTS, duration=50.0, width=720, height=1280, video_codec="vp9")
    signal = SignalFacts(None, [(1.0, 3.0)])
    issues = check(facts, signal, EXPECT)
    assert codes(issues) == [
        "duration_mismatch",
        "wrong_resolution",
        "wrong_video_codec",
        "loudness_out_of_range",
        "black_segment",
    ]
    report = QualityReport.build(facts, signal, EXPECT)
    data = json.loads(json.dumps(report.to_json()))
    assert data["passed"] is False
    assert data["issues"][0]["code"] == "duration_mismatch"
    assert data["signal"]["black_segments"] == [[1.0, 3.0]]
    assert data["facts"]["width"] == 720


# --- parsers --------------------------------------------------------------------------------------------

FFPROBE_JSON = """
{
  "streams": [
    {"index": 0, "codec_name": "png", "codec_type": "video", "width": 320, "height": 320,
     "r_frame_rate": "90000/1", "avg_frame_rate": "0/0", "disposition": {"attached_pic": 1}},
    {"index": 1, "codec_name": "h264", "codec_type": "video", "width": 1080, "height": 1920,
     "r_frame_rate": "30/1", "avg_frame_rate": "30000/1001", "duration": "60.000000",
     "disposition": {"default": 1, "attached_pic": 0}},
    {"index": 2, "codec_name": "aac", "codec_type": "audio", "sample_rate": "48000", "channels": 1,
     "r_frame_rate": "0/0", "avg_frame_rate": "0/0", "duration": "60.021333"}
  ],
  "format": {"filename": "final.mp4", "nb_streams": 3, "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
             "duration": "60.021333", "size": "12345678", "bit_rate": "1645454"}
}
"""


def test_facts_from_ffprobe_json() -> None:
    facts = facts_from_ffprobe_json(json.loads(FFPROBE_JSON), 12345678)
    assert facts == MediaFacts(
        duration=60.021333,
        width=1080,
        height=1920,
        video_codec="h264",
        audio_codec="aac",
        audio_sample_rate=48000,
        fps=pytest.approx(29.97, abs=0.001),
        size_bytes=12345678,
    )


def test_facts_from_ffprobe_json_audio_only_without_format_duration() -> None:
    d = {"streams": [{"codec_name": "mp3", "codec_type": "audio", "sample_rate": "22050", "duration": "3.5"}]}
    facts = facts_from_ffprobe_json(d, 100)
    assert (facts.video_codec, facts.width, facts.height, facts.fps) == (None, 0, 0, None)
    assert (facts.audio_codec, facts.audio_sample_rate, facts.duration) == ("mp3", 22050, 3.5)


# Captured from ffmpeg 5.1 running signal_argv() on a clip with 2 s of black in the middle.
STDERR_BLACK = """\
  Stream #0:1(und): Audio: pcm_s16le, 44100 Hz, mono, s16, 705 kb/s (default)
    Metadata:
      handler_name    : SoundHandler
      vendor_id       : [0][0][0][0]
      encoder         : Lavc59.37.100 pcm_s16le
[blackdetect @ 0x5569b872e500] black_start:1 black_end:3 black_duration:2
frame=  120 fps=0.0 q=-0.0 Lsize=N/A time=00:00:04.01 bitrate=N/A speed=67.1x
video:55kB audio:346kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown
[Parsed_ebur128_0 @ 0x5569b82c0980] Summary:

  Integrated loudness:
    I:         -21.8 LUFS
    Threshold: -31.8 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold: -41.8 LUFS
    LRA low:   -21.8 LUFS
    LRA high:  -21.8 LUFS

  True peak:
    Peak:      -9.6 dBFS
"""

# With -filter_complex, ffmpeg 5.1 reconfigures the graph and an empty first ebur128 instance prints
# its own summary (-70 LUFS) before the real one; the last summary is the one that counts.
STDERR_TWO_SUMMARIES = """\
[Parsed_ebur128_2 @ 0x5597ac41a640] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS
[blackdetect @ 0x55d0c1f0a2c0] black_start:0 black_end:1.96667 black_duration:1.96667
[blackdetect @ 0x55d0c1f0a2c0] black_start:10.5333 black_end:12.0333 black_duration:1.5
[Parsed_ebur128_2 @ 0x5597ac41a640] Summary:

  Integrated loudness:
    I:         -14.2 LUFS
    Threshold: -24.3 LUFS
"""

STDERR_SILENT = """\
[Parsed_ebur128_0 @ 0x55e0] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
"""


def test_parse_black_segments() -> None:
    assert parse_black_segments(STDERR_BLACK) == [(1.0, 3.0)]
    assert parse_black_segments(STDERR_TWO_SUMMARIES) == [(0.0, 1.96667), (10.5333, 12.0333)]
    assert parse_black_segments(STDERR_SILENT) == []


def test_parse_integrated_lufs() -> None:
    assert parse_integrated_lufs(STDERR_BLACK) == -21.8
    assert parse_integrated_lufs(STDERR_TWO_SUMMARIES) == -14.2
    assert parse_integrated_lufs(STDERR_SILENT) is None
    assert parse_integrated_lufs("Integrated loudness:\n    I:         -inf LUFS\n") is None
    assert parse_integrated_lufs("no audio here") is None


def test_parse_ebur128_reads_the_last_summary_with_its_true_peak() -> None:
    assert parse_ebur128(STDERR_BLACK) == Loudness(-21.8, -9.6)
    assert parse_ebur128(STDERR_SILENT) == Loudness(None, None)
    assert parse_ebur128(STDERR_TWO_SUMMARIES) == Loudness(-14.2, None)  # run with peak=none
    two = STDERR_SILENT + STDERR_BLACK.split("muxing overhead: unknown\n")[1]
    assert parse_ebur128(two) == Loudness(-21.8, -9.6)


def test_signal_argv_is_one_pass_with_both_filters() -> None:
    argv = signal_argv("in.mp4", black_min_seconds=1.5, threads=2)
    assert argv[0] == "ffmpeg" and argv.count("-i") == 1
    assert argv[argv.index("-threads") + 1] == "2"
    assert argv[argv.index("-vf") + 1] == "scale=192:-2:flags=neighbor,blackdetect=d=1.5:pix_th=0.10"
    assert argv[argv.index("-af") + 1] == "ebur128=peak=true:framelog=verbose"
    assert argv[-3:] == ["-f", "null", "-"]


# --- real files -----------------------------------------------------------------------------------------

SMALL = "180x320"
TESTSRC = f"testsrc2=s={SMALL}:r=30"
# The lavfi sine is -21.8 LUFS; +8 dB puts it near -14 LUFS, inside the default range.


def tone(seconds: float) -> str:
    return f"sine=f=440:r=48000:d={seconds},volume=8dB"


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        check=True,
        capture_output=True,
    )


ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    names = ("good", "black", "silent", "landscape", "mute", "tall", "loud", "peaky")
    out = {name: d / f"{name}.mp4" for name in names}
    ffmpeg("-f", "lavfi", "-i", f"{TESTSRC}:d=3", "-f", "lavfi", "-i", tone(3), *ENCODE, str(out["good"]))
    ffmpeg(
        "-f", "lavfi", "-i", f"{TESTSRC}:d=1",
        "-f", "lavfi", "-i", f"color=black:s={SMALL}:r=30:d=2",
        "-f", "lavfi", "-i", f"{TESTSRC}:d=1",
        "-f", "lavfi", "-i", tone(4),
        "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", "-map", "3:a",
        *ENCODE, str(out["black"]),
    )  # fmt: skip
    ffmpeg(
        "-f", "lavfi", "-i", f"{TESTSRC}:d=3", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono",
        "-t", "3", *ENCODE, str(out["silent"]),
    )  # fmt: skip
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=3", "-f", "lavfi", "-i", tone(3),
        *ENCODE, str(out["landscape"]),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", f"{TESTSRC}:d=3", "-c:v", "libx264", "-preset", "ultrafast", str(out["mute"]))
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=1080x1920:r=30:d=2", "-f", "lavfi", "-i", tone(2),
        *ENCODE, str(out["tall"]),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", f"{TESTSRC}:d=3", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=3,volume=16dB",
           *ENCODE, str(out["loud"]))  # fmt: skip
    # A -14 LUFS tone with a full-scale blip every half second: loud enough, but its peaks would clip.
    blips = "0.3*sin(2*PI*440*t)+0.69*lt(mod(t\\,0.5)\\,0.004)*sin(2*PI*1000*t)"
    ffmpeg("-f", "lavfi", "-i", f"{TESTSRC}:d=3", "-f", "lavfi", "-i", f"aevalsrc=exprs='{blips}':s=48000:d=3",
           *ENCODE, str(out["peaky"]))  # fmt: skip
    return out


SMALL_EXPECT = QualityExpectations(duration=3.0, width=180, height=320)


async def test_good_clip_passes(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["good"], SMALL_EXPECT)
    assert report.passed, report.issues
    assert report.facts is not None and report.signal is not None
    assert (report.facts.video_codec, report.facts.audio_codec, report.facts.fps) == ("h264", "aac", 30.0)
    assert report.facts.size_bytes == clips["good"].stat().st_size
    assert report.signal.black_segments == []
    assert report.signal.integrated_lufs == pytest.approx(-13.8, abs=1.0)


async def test_a_too_loud_file_is_rejected(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["loud"], SMALL_EXPECT)
    assert codes(report.issues) == ["loudness_out_of_range"]
    assert "too loud" in report.issues[0].message and not report.passed


async def test_a_file_whose_peaks_would_clip_is_rejected(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["peaky"], SMALL_EXPECT)
    assert report.signal is not None and report.signal.true_peak_dbtp is not None
    assert report.signal.true_peak_dbtp > -1.0
    assert codes(report.issues) == ["true_peak_too_high"]


async def test_black_middle_is_reported(clips: dict[str, Path]) -> None:
    signal = await analyze_signal(clips["black"])
    assert len(signal.black_segments) == 1
    start, end = signal.black_segments[0]
    assert start == pytest.approx(1.0, abs=0.15) and end == pytest.approx(3.0, abs=0.15)
    report = await validate_media(clips["black"], replace(SMALL_EXPECT, duration=4.0))
    assert codes(report.issues) == ["black_segment"]


async def test_silent_clip_is_out_of_loudness_range(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["silent"], SMALL_EXPECT)
    assert report.signal is not None and report.signal.integrated_lufs is None
    assert codes(report.issues) == ["loudness_out_of_range"]
    assert "silent" in report.issues[0].message


async def test_wrong_resolution_is_reported(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["landscape"], SMALL_EXPECT)
    assert codes(report.issues) == ["wrong_resolution"]
    assert report.issues[0].message == "video is 320x180 but 180x320 was expected"


async def test_video_without_audio_is_analysed_and_reported(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["mute"], SMALL_EXPECT)
    assert codes(report.issues) == ["no_audio"]


async def test_full_size_vertical_clip(clips: dict[str, Path]) -> None:
    report = await validate_media(clips["tall"], QualityExpectations(duration=2.0, width=1080, height=1920))
    assert report.passed, report.issues
    assert (report.facts.width, report.facts.height) == (1080, 1920)  # type: ignore[union-attr]


async def test_probe_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="missing.mp4"):
        await probe(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(ProbeError, match="ffprobe failed"):
        await probe(junk)
    with pytest.raises(ProbeError, match="not a regular file"):
        await probe(tmp_path)


async def test_analyze_signal_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SignalError, match="file not found"):
        await analyze_signal(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(SignalError, match="ffmpeg failed"):
        await analyze_signal(junk)
