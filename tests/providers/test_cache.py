from __future__ import annotations

from pathlib import Path

from providers.cache import ContentCache, cache_key


def test_store_then_hit_and_any_input_change_is_a_miss(tmp_path: Path) -> None:
    seen: list[tuple[str, bool]] = []
    cache = ContentCache(tmp_path / "cache", on_lookup=lambda kind, hit: seen.append((kind, hit)))
    key = cache_key("speech", "elevenlabs", "voice-a", {"text": "hello"})
    assert cache.lookup("speech", key) is None
    source = tmp_path / "voice.wav"
    source.write_bytes(b"RIFF....")
    cache.store("speech", key, {"voice.wav": source})
    entry = cache.lookup("speech", key)
    assert entry is not None and (entry / "voice.wav").read_bytes() == b"RIFF...."
    assert cache.lookup("speech", cache_key("speech", "elevenlabs", "voice-b", {"text": "hello"})) is None
    assert cache.lookup("speech", cache_key("speech", "elevenlabs", "voice-a", {"text": "hello!"})) is None
    assert seen == [("speech", False), ("speech", True), ("speech", False), ("speech", False)]


def test_a_second_store_of_the_same_key_keeps_one_complete_entry(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    key = cache_key("script", "openai", "m", "t")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("1")
    second.write_text("2")
    cache.store("script", key, {"script.json": first})
    cache.store("script", key, {"script.json": second})
    entry = cache.lookup("script", key)
    assert entry is not None and (entry / "script.json").read_text() == "1"
    assert [p.name for p in entry.parent.iterdir()] == [key]  # no staging directories left behind


def test_a_disabled_cache_never_hits(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path, enabled=False)
    key = cache_key("media", "pexels", "", "u")
    (tmp_path / "x").write_text("x")
    cache.store("media", key, {"x": tmp_path / "x"})
    assert cache.lookup("media", key) is None
