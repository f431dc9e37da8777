#!/usr/bin/env bash
# Usage: retry-channel.sh <channel_id>   — retry every failed video of a channel from its failed stage.
# The failed videos come from Temporal's visibility; each retry goes through the API, which owns the ledger and
# resumes from the failed stage without re-running or re-paying the stages that succeeded. Visibility also lists the
# failed earlier runs of videos already retried: the API answers those with 409 and the reason.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <channel_id>" >&2; exit 2; }
channel_videos Failed "$1" | while read -r video_id; do
  printf '%s ' "$video_id"
  api_curl -X POST "$API/pipeline/retry/$video_id" || true; echo  # a 409 (already retried) goes on
done
