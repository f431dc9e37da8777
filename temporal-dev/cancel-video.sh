#!/usr/bin/env bash
# Usage: cancel-video.sh <video_id>   — cancels the video; a running render's ffmpeg is killed.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <video_id>" >&2; exit 2; }
"$TEMPORAL" workflow cancel --workflow-id "video-${1#video-}"
