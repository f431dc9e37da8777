"""A fake local LLM server of OpenAI's protocol that honours JSON mode but not strict schemas, as many llama.cpp
server builds, llama-cpp-python and older Ollama do: `POST /v1/chat/completions` on 127.0.0.1, any key or none.

    fake = FakeLocalLLM(schemas="reject")   # json_schema is answered HTTP 400; "ignore": answered as if not asked
    with serve(fake.app) as url:            # YTEMPIRE_OPENAI_BASE_URL=f"{url}/v1", YTEMPIRE_OPENAI_LOCAL=true
        ...
    fake.push('```json\\n{"title": "Oct')   # the next answer's content, verbatim (a model cut short)
    fake.reject_next(400, "...")            # the next answer an error
    fake.requests[0].body["response_format"]

It answers as a small model behind JSON mode does: the JSON in a ```json fence, segments as plain strings, keys of
its own beside the schema's, `finish_reason: "stop"`, and no `usage` (`usage="zeros"`: all zero, as some servers
send; `"counted"`: counts of about 4 characters a token). It reads the topic and the word budget from the prompt and
writes the schema's shape only when the prompt spells it out; told only to answer in JSON, it nests the script under
a key of its own.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.openai_api import Received, make_script

# What llama.cpp's server answers to a response_format it does not take.
SCHEMA_REFUSAL = 'response_format type must be one of "text" or "json_object", but got: json_schema'
# The line of the prompt that tells a model the script's shape (providers/openai_script.py's JSON-mode prompt).
SHAPE_MARK = '"segments": [{"text": string, "visual_terms": [string, ...]}, ...]'


class FakeLocalLLM:
    def __init__(
        self,
        *,
        schemas: Literal["reject", "ignore"] = "reject",
        usage: Literal["none", "zeros", "counted"] = "none",
    ) -> None:
        self.schemas = schemas
        self.usage = usage
        self.requests: list[Received] = []
        self.contents: deque[str] = deque()
        self.errors: deque[tuple[int, str]] = deque()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat_completions)

    def push(self, *contents: str) -> None:
        self.contents.extend(contents)

    def reject_next(self, status: int, message: str) -> None:
        """Answer the next request with an error of llama.cpp's shape."""
        self.errors.append((status, message))

    async def _chat_completions(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(Received(dict(request.headers), body))
        kind = (body.get("response_format") or {}).get("type", "text")
        if self.errors:
            return _error(*self.errors.popleft())
        if kind == "json_schema" and self.schemas == "reject":
            return _error(400, SCHEMA_REFUSAL)
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        content = self.contents.popleft() if self.contents else _answer(prompt)
        completion: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
        if self.usage != "none":
            counted = self.usage == "counted"
            prompt_tokens, completion_tokens = (len(prompt) // 4, len(content) // 4) if counted else (0, 0)
            completion["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return JSONResponse(completion)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "type": "invalid_request_error"}}, status)


def _answer(prompt: str) -> str:
    topic = re.search(r'Topic: "([^"]*)"', prompt)
    words = re.search(r"about (\d+) spoken words", prompt)
    script: dict[str, Any] = make_script(int(words.group(1)) if words else 150, topic.group(1) if topic else "it")
    script["segments"] = [segment["text"] for segment in script["segments"]]
    script["language"] = "en"  # a key of its own
    answer: dict[str, Any] = script if SHAPE_MARK in prompt else {"video": script}
    return f"```json\n{json.dumps(answer, indent=2)}\n```"
