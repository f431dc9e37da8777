"""Deterministic template script writer: the offline, $0 default for script_generation."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import cost_policy, writing_systems
from engines.script.templates import BY_LANGUAGE, Templates
from engines.script.visual_terms import MAX_TERMS, visual_terms


class ScriptError(ValueError):
    """The request cannot be turned into a script (the message says what to change)."""


@dataclass(frozen=True)
class Script:
    title: str
    hook: str
    segments: list[str]
    call_to_action: str
    description: str
    tags: list[str]
    # What each narration entry should show, as stock-footage search terms: one list per entry of narration(),
    # in order. Empty for scripts written before there were terms; terms_for() derives them then.
    visual_terms: list[list[str]] = field(default_factory=list)

    def narration(self) -> list[str]:
        """What is spoken, in order: one caption/slide group per entry."""
        return [self.hook, *self.segments, self.call_to_action]

    def terms_for(self, index: int, language: str = "en") -> list[str]:
        """The search terms of narration entry `index`: the script's own, else derived from its words."""
        own = self.visual_terms[index] if index < len(self.visual_terms) else []
        return own or visual_terms(self.narration()[index], language)

    def word_count(self) -> int:
        """Spoken words, a character of Chinese or Japanese counting as 1 / CHARACTERS_PER_WORD of one."""
        return round(sum(writing_systems.spoken_words(part) for part in self.narration()))

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Script:
        return cls(**data)  # type: ignore[arg-type]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2))
        tmp.replace(path)


def _clean_topic(topic: str) -> str:
    topic = re.sub(r"\s+", " ", topic).strip().rstrip(".!?")
    if len(topic) < 3:
        raise ScriptError("topic must have at least 3 characters")
    return topic


def template_languages() -> list[str]:
    """The primary language subtags the template writer writes (`en`, `es`, `pt`, `fr`, `de`)."""
    return list(BY_LANGUAGE)


def write_script(topic: str, duration_seconds: int, language: str = "en") -> Script:
    """Write a script of about `duration_seconds` of narration in `language` (BCP 47; its primary subtag picks the
    templates); the same topic and language always give the same script."""
    templates = _templates_for(language)
    topic = _clean_topic(topic)
    seed = int.from_bytes(hashlib.sha256(topic.lower().encode()).digest()[:8], "big")
    rng = random.Random(seed)
    target_words = cost_policy.target_words(duration_seconds)

    hook = rng.choice(templates.hooks).format(topic=topic)
    cta = rng.choice(templates.ctas).format(topic=topic)
    n_segments = min(6, max(4, round(duration_seconds / 12)))
    remaining = target_words - len(hook.split()) - len(cta.split())

    sentences = [sentence.format(topic=topic) for sentence in templates.sentences]
    rng.shuffle(sentences)
    openers = list(templates.openers)
    rng.shuffle(openers)
    queue = sentences * 4
    segments: list[str] = []
    for index in range(n_segments):
        goal = remaining / (n_segments - index)  # spread what is left of the word budget evenly
        parts = [openers[index % len(openers)]] if goal >= 18 else []
        count = sum(len(p.split()) for p in parts)
        while queue:
            size = len(queue[0].split())
            if count and abs(count + size - goal) >= abs(count - goal):
                break
            parts.append(queue.pop(0))
            count += size
        segments.append(" ".join(parts))
        remaining -= count

    title = templates.title.format(Topic=f"{topic[:1].upper()}{topic[1:]}")
    if len(title) > 100:  # YouTube's title limit
        title = title[:97].rstrip() + "..."
    tags = _tags(topic, templates)
    description = templates.description.format(hook=hook, seconds=duration_seconds, topic=topic) + "\n\n"
    description += " ".join(f"#{tag.replace(' ', '')}" for tag in tags[:3])
    about = visual_terms(topic, language)
    terms = [about, *(_segment_terms(segment, about, language) for segment in segments), about]
    return Script(title, hook, segments, cta, description, tags, terms)


def _segment_terms(segment: str, about: list[str], language: str) -> list[str]:
    """The topic's words, then the segment's longest other words: every template sentence is about the topic,
    and its own filler words alone ("understand problem solves") would find footage of nothing in particular."""
    head = visual_terms(" ".join(about), language, limit=MAX_TERMS - 1)
    own = [w for w in visual_terms(segment, language, limit=MAX_TERMS + len(head)) if w not in head]
    own.sort(key=len, reverse=True)
    return [*head, *own][:MAX_TERMS]


def _templates_for(language: str) -> Templates:
    primary = language.split("-", 1)[0].lower()
    if primary not in BY_LANGUAGE:
        raise ScriptError(
            f"the template writer writes {', '.join(BY_LANGUAGE)}, not {language!r}: "
            "use a script provider that writes it (YTEMPIRE_SCRIPT_PROVIDER=openai)"
        )
    return BY_LANGUAGE[primary]


def _tags(topic: str, templates: Templates) -> list[str]:
    words = [w for w in re.findall(r"[^\W_]+(?:'[^\W_]+)*", topic.lower()) if len(w) > 2]
    tags = [topic.lower(), *words, *templates.tags]
    return list(dict.fromkeys(tags))[:15]
