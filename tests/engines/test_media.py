"""Local media: generated backgrounds, library picks, the combined media set and the thumbnail."""

from __future__ import annotations

import http.server
import json
import logging
import subprocess
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from engines.media.backgrounds import generate_backgrounds
from engines.media.clip_check import ClipFacts, ClipUnusable, check_clip, probe_clip
from engines.media.library import MediaSet, collect_media, normalise_image, pick_from_library
from engines.media.thumbnail import make_thumbnail
from engines.quality.signal import analyze_signal
from engines.render import layout
from engines.render.fonts import FontFace

TITLE = "Why octopuses have three hearts and blue blood"


def luma(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("L")


@pytest.fixture(scope="module")
def full_size(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("bg")
    return generate_backgrounds(out, count=6, width=1080, height=1920, seed="video-42", title=TITLE)


def test_backgrounds_count_and_size(full_size: list[Path]) -> None:
    paths = full_size
    assert len(paths) == 6 and len(set(paths)) == 6
    for p in paths:
        with Image.open(p) as img:
            assert (img.format, img.size, img.mode) == ("PNG", (1080, 1920), "RGB")
    assert not list(paths[0].parent.glob(".*.tmp"))  # speed: bench/local_stages_bench.py


def test_title_card_first_and_kinds_vary(full_size: list[Path]) -> None:
    paths = full_size
    assert paths[0].name == "00_title.png"
    kinds = [p.stem.split("_", 1)[1] for p in paths[1:]]
    assert len(set(kinds)) == 5  # five backgrounds, five different kinds
    # White text on a mid-tone card: the title card holds near-white pixels, the others do not.
    assert luma(paths[0]).getextrema()[1] >= 250
    assert all(luma(p).getextrema()[1] < 250 for p in paths[1:])


def test_backgrounds_are_never_black(full_size: list[Path]) -> None:
    paths = full_size
    for p in paths:
        gray = luma(p)
        assert ImageStat.Stat(gray).mean[0] / 255 > 0.3, p.name
        # blackdetect calls a frame black when 98% of pixels are under pix_th=0.10; allow none at all
        # outside the title's text shadow.
        dark = sum(gray.histogram()[: int(0.10 * 255) + 1]) / (gray.width * gray.height)
        assert dark < 0.001, p.name


@pytest.fixture
def stills_clip(tmp_path: Path) -> Path:
    """A video of five generated backgrounds, one second each."""
    paths = generate_backgrounds(tmp_path, count=5, width=180, height=320, seed="bd", title="Hello")
    clip = tmp_path / "stills.mp4"
    inputs = [arg for p in paths for arg in ("-loop", "1", "-t", "1", "-framerate", "10", "-i", str(p))]
    graph = "".join(f"[{i}:v]" for i in range(len(paths))) + f"concat=n={len(paths)}:v=1:a=0[v]"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *inputs, "-filter_complex", graph,
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)],
        check=True, capture_output=True,
    )  # fmt: skip
    return clip


async def test_backgrounds_pass_blackdetect(stills_clip: Path) -> None:
    signal = await analyze_signal(stills_clip, black_min_seconds=0.2)
    assert signal.black_segments == []


def test_backgrounds_deterministic_by_seed(tmp_path: Path) -> None:
    kw = {"count": 4, "width": 108, "height": 192, "title": TITLE}
    a = generate_backgrounds(tmp_path / "a", seed="s1", **kw)
    b = generate_backgrounds(tmp_path / "b", seed="s1", **kw)
    c = generate_backgrounds(tmp_path / "c", seed="s2", **kw)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]
    # An image depends on its index, not on how many were asked for.
    more = generate_backgrounds(tmp_path / "d", seed="s1", **{**kw, "count": 6})
    assert [p.read_bytes() for p in more[:4]] == [p.read_bytes() for p in a]


def test_background_without_title(tmp_path: Path) -> None:
    (first,) = generate_backgrounds(tmp_path, count=1, width=108, height=192, seed="x", title=None)
    assert luma(first).getextrema()[1] < 250  # no white text
    assert generate_backgrounds(tmp_path, count=0, width=108, height=192, seed="x", title=None) == []


@pytest.fixture
def library(tmp_path: Path) -> Path:
    lib = tmp_path / "library"
    (lib / "trips" / "2024").mkdir(parents=True)
    colours = ["red", "green", "blue", "orange"]
    places = [lib / "a.jpg", lib / "trips" / "b.PNG", lib / "trips" / "2024" / "c.webp", lib / "d.jpeg"]
    for colour, path in zip(colours, places, strict=True):
        Image.new("RGB", (64, 48), colour).save(path)
    (lib / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (lib / "notes.txt").write_text("not an image")
    return lib


def test_pick_from_library(library: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        picked = pick_from_library(library, 4, seed="abc")
    assert len(picked) == 4 and len(set(picked)) == 4
    assert {p.name for p in picked} == {"a.jpg", "b.PNG", "c.webp", "d.jpeg"}
    assert "broken.jpg" in caplog.text
    assert pick_from_library(library, 4, seed="abc") == picked
    assert pick_from_library(library, 2, seed="abc") == picked[:2]
    orders = {tuple(pick_from_library(library, 4, seed=s)) for s in ("a", "b", "c", "d", "e")}
    assert len(orders) > 1


def test_pick_from_library_cycles_and_handles_missing(library: Path, tmp_path: Path) -> None:
    picked = pick_from_library(library, 10, seed="abc")
    assert len(picked) == 10
    assert picked[4:8] == picked[:4] and len(set(picked)) == 4
    assert pick_from_library(tmp_path / "nope", 3, seed="abc") == []
    (tmp_path / "empty").mkdir()
    assert pick_from_library(tmp_path / "empty", 3, seed="abc") == []
    assert pick_from_library(library, 0, seed="abc") == []


def test_a_channels_own_folder_comes_first_and_stays_its_own(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    for folder, names in (
        (lib, ["shared1.jpg", "shared2.jpg"]),
        (lib / "channels" / "chan-a", ["own1.jpg", "own2.png"]),
        (lib / "channels" / "chan-b", ["other.jpg"]),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            Image.new("RGB", (120, 200), "teal").save(folder / name)
    picked = [p.name for p in pick_from_library(lib, 4, seed="s", channel_id="chan-a")]
    assert sorted(picked[:2]) == ["own1.jpg", "own2.png"] and sorted(picked[2:]) == ["shared1.jpg", "shared2.jpg"]
    assert {p.name for p in pick_from_library(lib, 5, seed="s")} == {"shared1.jpg", "shared2.jpg"}  # never shared
    assert {p.name for p in pick_from_library(lib, 9, seed="s", channel_id="chan-c")} == {"shared1.jpg", "shared2.jpg"}
    media = collect_media(
        tmp_path / "m", count=4, width=108, height=192, seed="v", title=TITLE, library_dir=lib, channel_id="chan-b"
    )
    origins = [Path(item.origin).name for item in media.items if item.origin]
    assert origins[0] == "other.jpg" and sorted(origins[1:]) == ["shared1.jpg", "shared2.jpg"]


def test_a_library_clip_is_used_as_it_is_and_a_broken_one_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(lib / "my clip.MP4")],
        check=True,
    )  # fmt: skip
    (lib / "broken.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + b"\x00" * 500)  # a header, then nothing
    with caplog.at_level(logging.WARNING):
        media = collect_media(tmp_path / "m", count=3, width=108, height=192, seed="v", title=TITLE, library_dir=lib)
    assert [item.source for item in media.items] == ["generated", "library", "generated"]
    used = media.items[1]
    assert used.path.name == "lib_01.mp4" and Path(used.origin or "").name == "my clip.MP4"
    assert used.path.read_bytes() == (lib / "my clip.MP4").read_bytes()  # not re-encoded: the render fits it
    assert "skipping unplayable library clip" in caplog.text and "broken.mov" in caplog.text


def test_collect_media_library_first_then_generated(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "media"
    media = collect_media(out, count=7, width=108, height=192, seed="v1", title=TITLE, library_dir=library)
    sources = [item.source for item in media.items]
    assert sources == ["generated"] + ["library"] * 4 + ["generated"] * 2
    assert media.items[0].path.name == "00_title.png"
    assert {Path(item.origin).name for item in media.items[1:5]} == {"a.jpg", "b.PNG", "c.webp", "d.jpeg"}
    assert all(item.origin is None for item in media.items if item.source == "generated")
    for item in media.items:
        assert item.path.parent == out
        with Image.open(item.path) as img:
            assert img.size == (108, 192)
    data = json.loads(json.dumps(media.to_json()))
    assert [i["source"] for i in data["items"]] == sources
    assert MediaSet.from_json(data) == media


def test_collect_media_without_library(tmp_path: Path) -> None:
    media = collect_media(tmp_path / "m", count=3, width=108, height=192, seed="v1", title=TITLE, library_dir=None)
    assert [item.source for item in media.items] == ["generated"] * 3
    small_library = tmp_path / "lib"
    small_library.mkdir()
    Image.new("RGB", (300, 100), "purple").save(small_library / "only.png")
    media = collect_media(
        tmp_path / "n", count=4, width=108, height=192, seed="v1", title=TITLE, library_dir=small_library
    )
    # One library image is used once; generated backgrounds fill the rest rather than repeats.
    assert [item.source for item in media.items] == ["generated", "library", "generated", "generated"]


def test_thumbnail_is_small_jpeg(full_size: list[Path], tmp_path: Path) -> None:
    paths = full_size
    thumb = make_thumbnail(paths[0], tmp_path / "out" / "thumbnail.jpg")
    with Image.open(thumb) as img:
        assert (img.format, img.size) == ("JPEG", (1280, 720))
        # The title is kept inside the centre 16:9 band, so the crop still shows the white text.
        assert img.convert("L").getextrema()[1] >= 245
    assert thumb.stat().st_size < 2 * 1024 * 1024
    assert not list(thumb.parent.glob(".*.tmp"))


def test_title_card_without_its_font_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    missing = FontFace("Missing Sans", str(tmp_path / "missing.ttf"))
    monkeypatch.setattr(layout, "face_for", lambda *_: missing)
    with caplog.at_level(logging.WARNING):
        (card,) = generate_backgrounds(tmp_path, count=1, width=216, height=384, seed="f", title=TITLE)
    assert "missing.ttf" in caplog.text
    assert luma(card).getextrema()[1] >= 250  # the text is still drawn


def test_normalise_flattens_transparency_onto_white(tmp_path: Path) -> None:
    src = tmp_path / "clear.png"
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(src)
    out = normalise_image(src, tmp_path / "out.jpg", width=60, height=100)
    with Image.open(out) as img:
        assert (img.format, img.size) == ("JPEG", (60, 100))
        assert img.convert("L").getextrema()[0] > 240


def test_a_library_file_cannot_reach_the_network_or_leave_the_library(tmp_path: Path) -> None:
    """A 'clip' that is really an HLS playlist may not make ffmpeg fetch a URL (SSRF from a shared library), and a
    link out of the library is not the library's to hand out."""
    hits: list[str] = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the handler's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        library = tmp_path / "library"
        library.mkdir()
        port = server.server_address[1]
        (library / "clip.mp4").write_text(
            f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nhttp://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n"
        )
        outside = tmp_path / "outside"
        outside.mkdir()
        Image.new("RGB", (64, 64), "red").save(outside / "private.png")
        (library / "linked.png").symlink_to(outside / "private.png")
        Image.new("RGB", (64, 64), "blue").save(library / "own.png")
        picked = pick_from_library(library, 3, "seed")
    finally:
        server.shutdown()
        thread.join(5)
    assert hits == []
    assert set(picked) == {library / "own.png"}


def _lavfi_clip(path: Path, source: str, seconds: float = 2.0) -> Path:
    """`source` is a lavfi source with its own options (testsrc, color=c=black), sized and timed here."""
    options = f"size=160x284:rate=25:duration={seconds}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}{':' if '=' in source else '='}{options}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_a_clip_is_checked_by_decoding_its_first_and_last_frames(tmp_path: Path) -> None:
    good = _lavfi_clip(tmp_path / "good.mp4", "testsrc")
    assert check_clip(good) == ClipFacts("h264", 160, 284, 2.0)
    # The index is at the front, so ffprobe still reads a cut-short download: only decoding its end shows it.
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 6 // 10])
    assert probe_clip(cut).duration == 2.0
    with pytest.raises(ClipUnusable, match="corrupt|Invalid"):
        check_clip(cut)
    with pytest.raises(ClipUnusable, match="under 0.5 s"):
        check_clip(_lavfi_clip(tmp_path / "short.mp4", "testsrc", 0.3))
    (tmp_path / "page.mp4").write_text("<html><body>Please verify you are human</body></html>")
    with pytest.raises(ClipUnusable):
        check_clip(tmp_path / "page.mp4")


def test_a_clip_that_opens_on_black_is_refused_where_asked(tmp_path: Path) -> None:
    black = _lavfi_clip(tmp_path / "black.mp4", "color=c=black", 2.0)
    assert check_clip(black).duration == 2.0  # a library clip is the user's choice
    with pytest.raises(ClipUnusable, match="opens with 1 s or more of black"):
        check_clip(black, reject_black_start=True)
    assert check_clip(_lavfi_clip(tmp_path / "lit.mp4", "testsrc"), reject_black_start=True).width == 160
