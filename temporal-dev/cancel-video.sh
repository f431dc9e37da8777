#!/usr/bin/env bash
# Usage: cancel-video.sh <video_id>   — cancels the video through the API (POST /pipeline/cancel); a running render's
# ffmpeg is killed, costs so far stay, partial files are removed.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <video_id>" >&2; exit 2; }
api_curl -X POST "$API/pipeline/cancel/${1#video-}"; echo
