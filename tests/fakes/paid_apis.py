"""The paid APIs as the fault suite's stack calls them: OpenAI (scripts) and ElevenLabs (speech) faked on loopback,
through the real client libraries inside the workers. A video whose topic carries a marker meets a provider that
misbehaves on its first request: `#bills-and-fails` (a 200 that is billed, then rejected as too short) or
`#overruns` (a reply billed at four times the completion cap it was asked to keep).

    with PaidApis() as apis:        # apis.env points a stack's processes at the fakes
        run_faults(plan, root, providers=apis)
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from tests.fakes.elevenlabs_api import FakeElevenLabs
from tests.fakes.openai_api import FakeOpenAI, Scripted, make_script
from tests.fakes.server import serve

MARKERS = {"provider_bills_and_fails": "#bills-and-fails", "provider_overruns": "#overruns"}
NARRATION_WORDS = 75  # a 30 s video's script


class PaidApis:
    def __init__(self) -> None:
        self.openai = FakeOpenAI(narration_words=NARRATION_WORDS, choose=self._reply)
        self.elevenlabs = FakeElevenLabs()
        self.env: dict[str, str] = {}
        self._misbehaved: Counter[str] = Counter()
        self._met: set[str] = set()  # the topics whose provider has misbehaved once already
        self._servers = ExitStack()

    def __enter__(self) -> PaidApis:
        openai_url = self._servers.enter_context(serve(self.openai.app))
        elevenlabs_url = self._servers.enter_context(serve(self.elevenlabs.app))
        self.env = {
            "YTEMPIRE_SCRIPT_PROVIDER": "openai",
            "YTEMPIRE_OPENAI_API_KEY": self.openai.api_key,
            "YTEMPIRE_OPENAI_BASE_URL": f"{openai_url}/v1",
            "YTEMPIRE_TTS_PROVIDER": "elevenlabs",
            "YTEMPIRE_ELEVENLABS_API_KEY": self.elevenlabs.api_key,
            "YTEMPIRE_ELEVENLABS_BASE_URL": elevenlabs_url,
        }
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._servers.close()

    def topic_suffix(self, index: int) -> str:
        """The marker for video `index`: every other video meets a provider that misbehaves, the kinds in turn."""
        kinds = list(MARKERS)
        return f" {MARKERS[kinds[index // 2 % len(kinds)]]}" if index % 2 == 1 else ""

    def misbehaved(self) -> Counter[str]:
        return Counter(self._misbehaved)

    def billed_units(self) -> dict[str, int]:
        """What each fake billed: OpenAI tokens (prompt + completion), ElevenLabs characters."""
        return {"openai": self.openai.billed_tokens, "elevenlabs": self.elevenlabs.billed_characters}

    def _reply(self, body: dict[str, Any]) -> Scripted:
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        drill = re.search(r"fault drill \d+", prompt)
        topic = drill.group() if drill else "the topic"
        script = make_script(NARRATION_WORDS, topic)  # a script of its own per video: no speech cache across them
        for kind, marker in MARKERS.items():
            if marker in prompt and topic not in self._met:
                self._met.add(topic)
                self._misbehaved[kind] += 1
                if kind == "provider_bills_and_fails":
                    return Scripted(words=10)
                cap = int(body.get("max_completion_tokens") or body.get("max_tokens") or 1000)
                return Scripted(script=script, completion_tokens=4 * cap)
        return Scripted(script=script)
