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


def write_script(
    topic: str,
    duration_seconds: int,
    language: str = "en",
    words_per_second: float = cost_policy.WORDS_PER_SECOND,
) -> Script:
    """Write a script of about `duration_seconds` of narration in `language` (BCP 47; its primary subtag picks the
    templates) for a voice speaking `words_per_second`; the same topic, language and pace always give the same
    script."""
    templates = _templates_for(language)
    topic = _clean_topic(topic)
    seed = int.from_bytes(hashlib.sha256(topic.lower().encode()).digest()[:8], "big")
    rng = random.Random(seed)
    target_words = round(duration_seconds * words_per_second)

    # Each segment opens with an angle's question: a video too short for four of them gets two.
    n_segments = min(6, max(4, round(duration_seconds / 12))) if duration_seconds >= 30 else 2
    angles = [_Angle(a.question.format(topic=topic), a.detail, a.step) for a in templates.angles]
    # Where the shortest script of average sentences would overrun (a short video, a long topic), the shorter hooks,
    # calls to action and questions are used.
    short = (
        _mean(templates.hooks, topic)
        + _mean(templates.ctas, topic)
        + n_segments * (sum(_words(a.question) + 1 for a in angles) / len(angles))
        > target_words
    )
    hook = rng.choice(_shortest(templates.hooks) if short else templates.hooks).format(topic=topic)
    cta = rng.choice(_shortest(templates.ctas) if short else templates.ctas).format(topic=topic)
    framing = rng.choice(templates.framings).format(topic=topic)
    closing = rng.choice(templates.closings).format(topic=topic)
    budget = target_words - _words(hook) - _words(cta)
    if short:
        shorter = sorted(range(len(angles)), key=lambda i: _words(angles[i].question))[: len(angles) // 2]
        angles = [angles[i] for i in sorted(shorter)]
    segments = _body(templates, angles, rng, budget, n_segments, framing, closing)

    title = templates.title.format(Topic=f"{topic[:1].upper()}{topic[1:]}")
    if len(title) > 100:  # YouTube's title limit
        title = title[:97].rstrip() + "..."
    tags = _tags(topic, templates)
    description = templates.description.format(hook=hook, seconds=duration_seconds, topic=topic) + "\n\n"
    description += " ".join(f"#{tag.replace(' ', '')}" for tag in tags[:3])
    about = visual_terms(topic, language)
    terms = [about, *(_segment_terms(segment, about, language) for segment in segments), about]
    return Script(title, hook, segments, cta, description, tags, terms)


@dataclass(frozen=True)
class _Angle:
    question: str  # the topic filled in
    detail: str
    step: str


def _words(text: str) -> int:
    return len(text.split())


def _shortest(sentences: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(sentences, key=_words)[:2])


def _mean(sentences: tuple[str, ...], topic: str) -> float:
    return sum(_words(s.format(topic=topic)) for s in sentences) / len(sentences)


def _body(
    templates: Templates,
    angles: list[_Angle],
    rng: random.Random,
    budget: int,
    n_segments: int,
    framing: str,
    closing: str,
) -> list[str]:
    """The segments: the framing, then angles in the templates' order, each opened by the connective of its place,
    then the closing; as close to `budget` words as whole sentences allow, in `n_segments` segments."""
    sizes = [_words(a.question) + 1 + _words(a.detail) + _words(a.step) for a in angles]
    room = budget - _words(framing) - _words(closing)
    count = min(len(angles), max(n_segments, round(room / (sum(sizes) / len(sizes)))))
    order = rng.sample(range(len(angles)), len(angles))
    # A draw of angles shorter than the average may hold fewer words than the budget even with every sentence said:
    # one more angle then, whose optional sentences the filling below can leave out again.
    while count < len(angles) and sum(sizes[i] for i in order[:count]) < room:
        count += 1
    chosen = [angles[i] for i in sorted(order[:count])]
    parts = [[_opener(templates, place, count).format(angle.question)] for place, angle in enumerate(chosen)]
    total = sum(_words(p[0]) for p in parts)
    lead: list[str] = []
    tail: list[str] = []

    def fits(sentence: str) -> bool:
        nonlocal total
        if abs(total + _words(sentence) - budget) > abs(total - budget):
            return False
        total += _words(sentence)
        return True

    # What a bigger budget adds, in this order: the framing, each angle's sharper question, the closing, then what
    # to do with each answer (only after its sharper question).
    if fits(framing):
        lead.append(framing)
    for sentences, angle in zip(parts, chosen, strict=True):
        if fits(angle.detail):
            sentences.append(angle.detail)
    if fits(closing):
        tail.append(closing)
    for sentences, angle in zip(parts, chosen, strict=True):
        if len(sentences) == 2 and fits(angle.step):
            sentences.append(angle.step)

    groups = _balanced_groups([sum(map(_words, p)) for p in parts], n_segments, _words(" ".join(lead)), total)
    segments = []
    for index, (start, end) in enumerate(groups):
        sentences = [s for p in parts[start:end] for s in p]
        if index == 0:
            sentences = lead + sentences
        if index == len(groups) - 1:
            sentences = sentences + tail
        segments.append(" ".join(sentences))
    return segments


def _opener(templates: Templates, place: int, count: int) -> str:
    if place == 0:
        return templates.first
    if place == count - 1:
        return templates.last
    return templates.openers[(place - 1) % len(templates.openers)]


def _balanced_groups(sizes: list[int], groups: int, lead: int, total: int) -> list[tuple[int, int]]:
    """`sizes` cut into `groups` runs, (start, end) each, whose word counts (the first run also holding `lead`
    words) are as even as the cuts allow; the closing's words are in `total` and land in the last run."""
    goal = total / groups
    tail = total - lead - sum(sizes)
    # best[g][i]: (cost, cuts) of the first i sizes in g runs
    best: list[dict[int, tuple[float, list[int]]]] = [{0: (0.0, [])}]
    for g in range(1, groups + 1):
        row: dict[int, tuple[float, list[int]]] = {}
        for i in range(g, len(sizes) - (groups - g) + 1):
            for j, (cost, cuts) in best[g - 1].items():
                if j >= i:
                    continue
                words = sum(sizes[j:i]) + (lead if j == 0 else 0) + (tail if g == groups else 0)
                candidate = (cost + (words - goal) ** 2, [*cuts, i])
                if i not in row or candidate[0] < row[i][0]:
                    row[i] = candidate
        best.append(row)
    cuts = best[groups][len(sizes)][1]
    return list(zip([0, *cuts[:-1]], cuts, strict=True))


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
