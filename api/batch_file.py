"""Queue a file of videos (CSV with a header row, or JSON Lines) through `POST /pipeline/queue/batch`.

    .venv/bin/python -m api.batch_file videos.csv        # or temporal-dev/queue-batch.sh videos.csv

CSV columns are the queue request's fields (topic, channel_id, user_id, priority, complexity, duration_seconds,
orientation, language, voice, music, cost_cap_usd, callback_url, request_id); empty cells take the defaults. Every
row is checked before anything is sent, and a bad row is reported by its line. The idempotency key comes from the file's
content, so running the same file again (after a full queue, a lost connection) only queues what is not queued
yet. Exit status: 0 all queued, 1 some rejected (run it again later), 2 the file or the API refused the request.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from api.https import api_url, client_verify
from api.local_admin import client_headers
from api.schemas import BatchEnqueueRequest, EnqueueRequest
from core.settings import Settings

BATCH_LIMIT = 100  # what one POST /pipeline/queue/batch takes


class BatchFileError(ValueError):
    """The file cannot be queued as it is; the message names the line."""


@dataclass(frozen=True)
class FileRow:
    line: int
    body: dict[str, Any]


def read_rows(path: Path) -> list[FileRow]:
    """The file's videos, each validated as a queue request; raises BatchFileError naming the first bad line."""
    text = path.read_text(encoding="utf-8-sig")
    rows = _jsonl_rows(text) if path.suffix.lower() in (".jsonl", ".ndjson") else _csv_rows(text)
    if not rows:
        raise BatchFileError(f"{path}: no videos in the file")
    for row in rows:
        try:
            EnqueueRequest.model_validate(row.body)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in err.errors())
            raise BatchFileError(f"{path}, line {row.line}: {problems}") from None
    return rows


def _csv_rows(text: str) -> list[FileRow]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for record in reader:
        if None in record:
            raise BatchFileError(f"line {reader.line_num}: more cells than the header has columns")
        body = {key.strip(): value.strip() for key, value in record.items() if key and value and value.strip()}
        if body:
            rows.append(FileRow(reader.line_num, body))
    return rows


def _jsonl_rows(text: str) -> list[FileRow]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            body = json.loads(line)
        except json.JSONDecodeError as err:
            raise BatchFileError(f"line {number}: not JSON ({err.msg})") from None
        if not isinstance(body, dict):
            raise BatchFileError(f"line {number}: expected a JSON object")
        rows.append(FileRow(number, body))
    return rows


def file_key(path: Path) -> str:
    return "file-" + hashlib.sha256(path.read_bytes()).hexdigest()[:24]


async def queue_rows(api: httpx.AsyncClient, rows: list[FileRow], key: str) -> tuple[list[str], int]:
    """Send `rows` in batches of 100; one report line per row and the number rejected."""
    report: list[str] = []
    rejected = 0
    for start in range(0, len(rows), BATCH_LIMIT):
        chunk = rows[start : start + BATCH_LIMIT]
        body = BatchEnqueueRequest.model_validate({"videos": [row.body for row in chunk]})
        response = await api.post(
            "/pipeline/queue/batch",
            json=body.model_dump(mode="json", exclude_unset=True),
            headers={"Idempotency-Key": f"{key}-{start // BATCH_LIMIT}"},
        )
        if response.status_code != 200:
            raise BatchFileError(f"the API answered HTTP {response.status_code}: {response.text[:500]}")
        for result in response.json()["results"]:
            row = chunk[result["index"]]
            if result["outcome"] == "rejected":
                rejected += 1
                report.append(f"line {row.line}: rejected ({result['error']}): {result['message']}")
            else:
                video = result["video"]
                report.append(
                    f"line {row.line}: {result['outcome']} {video['video_id']} position {video['position']} "
                    f"eta {video['eta']} s"
                )
    return report, rejected


async def _main(path: Path, url: str | None) -> int:
    try:
        rows = read_rows(path)
    except (BatchFileError, OSError, UnicodeDecodeError, csv.Error) as err:
        sys.stderr.write(f"{err}\n")
        return 2
    settings = Settings()
    headers = client_headers(settings.admin_key_path, settings.api_key)
    verify = client_verify(settings, settings.secrets_dir)
    async with httpx.AsyncClient(base_url=url or api_url(settings), headers=headers, verify=verify, timeout=120) as api:
        try:
            report, rejected = await queue_rows(api, rows, file_key(path))
        except (BatchFileError, httpx.HTTPError) as err:
            sys.stderr.write(f"{err}\n")
            return 2
    sys.stdout.write("\n".join(report) + "\n")
    sys.stdout.write(f"{len(rows) - rejected} of {len(rows)} videos queued; {rejected} rejected\n")
    return 1 if rejected else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.batch_file", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="a .csv file (header row) or a .jsonl file")
    parser.add_argument(
        "--api",
        default=os.environ.get("YTEMPIRE_API_URL"),
        help="the API's URL (default: YTEMPIRE_API_URL, else this machine's API, https with a certificate)",
    )
    args = parser.parse_args(argv)
    return asyncio.run(_main(args.file, args.api))


if __name__ == "__main__":
    raise SystemExit(main())
