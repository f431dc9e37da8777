#!/usr/bin/env bash
# Usage: queue.sh [channel_id]   — unfinished videos in the order their renders start: priority DESC, oldest first.
# (The dev server's SQLite visibility has no ORDER BY, so the CLI's JSON output is sorted by _queue_table.py.)
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
query="WorkflowType = 'VideoWorkflow' AND ExecutionStatus = 'Running'"
[ $# -ge 1 ] && query="$query AND ChannelId = '$1'"
"$TEMPORAL" workflow list --query "$query" --output json --limit 1000 | "$PYTHON" "$here/_queue_table.py"
