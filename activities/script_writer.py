"""Deterministic template script writer: the offline, $0 default for script_generation."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

WORDS_PER_SECOND = 2.5  # ~150 words for 60 s of narration

_HOOKS = (
    "Here is something about {topic} that most people never hear.",
    "You have probably never thought about {topic} like this.",
    "Stop scrolling: {topic} is stranger than you think.",
    "In the next minute, {topic} will surprise you.",
)
_OPENERS = (
    "Start with the basics.",
    "Now look closer.",
    "Here is the twist.",
    "This part matters most.",
    "Zoom out for a second.",
    "Then it gets better.",
)
_SENTENCES = (
    "When scientists first studied {topic}, they expected something simple and found the opposite.",
    "The details of {topic} explain a lot about how the natural and human world fit together.",
    "Most explanations of {topic} skip the one step that makes everything else make sense.",
    "People who work with {topic} every day say the surprises never really stop.",
    "If you picture {topic} as one single thing, you miss how many moving parts it has.",
    "There is a good reason {topic} keeps showing up in research, stories and headlines.",
    "The numbers behind {topic} are bigger than most of us would ever guess.",
    "A small change in how {topic} works can ripple out into something huge.",
    "History is full of people who underestimated {topic} and paid for it.",
    "Once you notice {topic}, you start to see it almost everywhere you look.",
    "The best way to understand {topic} is to ask what problem it quietly solves.",
    "Experts still argue about parts of {topic}, and that debate is half the fun.",
)
_CTAS = (
    "Follow for more short facts like this, and tell me what {topic} question I should answer next.",
    "If {topic} surprised you, like and subscribe so you do not miss the next one.",
    "Share this with someone who thinks they already know everything about {topic}.",
)


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

    def narration(self) -> list[str]:
        """What is spoken, in order: one caption/slide group per entry."""
        return [self.hook, *self.segments, self.call_to_action]

    def word_count(self) -> int:
        return sum(len(part.split()) for part in self.narration())

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


def write_script(topic: str, duration_seconds: int) -> Script:
    """Write a script of about `duration_seconds` of narration; the same topic always gives the same script."""
    topic = _clean_topic(topic)
    seed = int.from_bytes(hashlib.sha256(topic.lower().encode()).digest()[:8], "big")
    rng = random.Random(seed)
    target_words = round(duration_seconds * WORDS_PER_SECOND)

    hook = rng.choice(_HOOKS).format(topic=topic)
    cta = rng.choice(_CTAS).format(topic=topic)
    n_segments = min(6, max(4, round(duration_seconds / 12)))
    remaining = target_words - len(hook.split()) - len(cta.split())

    sentences = [sentence.format(topic=topic) for sentence in _SENTENCES]
    rng.shuffle(sentences)
    openers = list(_OPENERS)
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

    title = f"{topic[:1].upper()}{topic[1:]}: what nobody tells you"
    if len(title) > 100:  # YouTube's title limit
        title = title[:97].rstrip() + "..."
    tags = _tags(topic)
    description = f"{hook} A {duration_seconds}-second explainer on {topic}.\n\n" + " ".join(
        f"#{tag.replace(' ', '')}" for tag in tags[:3]
    )
    return Script(title, hook, segments, cta, description, tags)


def _tags(topic: str) -> list[str]:
    words = [w for w in re.findall(r"[A-Za-z0-9']+", topic.lower()) if len(w) > 2]
    tags = [topic.lower(), *words, "shorts", "facts", "explained"]
    return list(dict.fromkeys(tags))[:15]
