#!/usr/bin/env bash
# Usage: video-status.sh <video_id>   — the workflow's description and its live `progress` query.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <video_id>" >&2; exit 2; }
"$TEMPORAL" workflow describe --workflow-id "video-${1#video-}"
"$TEMPORAL" workflow query --workflow-id "video-${1#video-}" --type progress
