#!/usr/bin/env bash
# Usage: cancel-channel.sh <channel_id>   — cancel every unfinished video of a channel: one search-attribute query
# finds them in Temporal, and each is cancelled through the API (POST /pipeline/cancel), so roles apply; renders in
# progress have their ffmpeg killed, costs so far stay in the ledger, partial files are removed.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <channel_id>" >&2; exit 2; }
channel_videos Running "$1" | while read -r video_id; do
  printf '%s ' "$video_id"
  api_curl -X POST "$API/pipeline/cancel/$video_id" || true; echo  # a 409 (just finished) goes on
done
