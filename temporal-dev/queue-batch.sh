#!/usr/bin/env bash
# Usage: queue-batch.sh <videos.csv|videos.jsonl>   — queue a file of videos through the API's batch endpoint.
# CSV: a header row of queue fields (topic,channel_id,user_id,priority,complexity,duration_seconds,language,...).
# Every row is checked first (a bad row is named by its line); running the same file again only queues what is not
# queued yet (the idempotency key is the file's hash). Exit 0: all queued; 1: some rejected (e.g. queue full, run it
# again later); 2: the file or the request was refused. The API is YTEMPIRE_API_URL (default 127.0.0.1:8000).
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <videos.csv|videos.jsonl>" >&2; exit 2; }
file="$(realpath "$1")"
cd "$repo"  # python -m api.batch_file runs from the checkout
exec "$PYTHON" -m api.batch_file "$file"
