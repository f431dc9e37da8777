"""Reads `temporal workflow list --output json` on stdin; prints videos by priority DESC, oldest first."""

import base64
import json
import sys


def value(wf: dict, name: str) -> object:
    field = wf.get("searchAttributes", {}).get("indexedFields", {}).get(name)
    return json.loads(base64.b64decode(field["data"])) if field else None


rows = json.load(sys.stdin) or []
rows.sort(key=lambda wf: (-(value(wf, "Priority") or 0), wf["startTime"]))
print(f"{'pos':>4} {'prio':>4}  {'channel':<36}  {'status':<10} {'stage':<18} {'queued at':<27} workflow id")
for pos, wf in enumerate(rows, 1):
    print(
        f"{pos:>4} {value(wf, 'Priority') or '?':>4}  {value(wf, 'ChannelId') or '?':<36}  "
        f"{value(wf, 'VideoStatus') or '?':<10} {value(wf, 'VideoStage') or '-':<18} {wf['startTime']:<27} "
        f"{wf['execution']['workflowId']}"
    )
