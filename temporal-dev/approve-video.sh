#!/usr/bin/env bash
# Usage: approve-video.sh <video_id> <new_cap_usd> <approved_by> <reason...>
# Raises a video's cost cap through the workflow's `approve_budget` update; a halted video continues. The update's
# validator rejects a cap that is not above the current one or above the configured ceiling.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -ge 4 ] || { echo "usage: $0 <video_id> <new_cap_usd> <approved_by> <reason...>" >&2; exit 2; }
video="${1#video-}"; cap="$2"; who="$3"; shift 3
input=$("$PYTHON" -c 'import json, sys; print(json.dumps({"new_cap_usd": float(sys.argv[1]), "approved_by": sys.argv[2],
"reason": sys.argv[3]}))' "$cap" "$who" "$*")
"$TEMPORAL" workflow update execute --workflow-id "video-$video" --name approve_budget --input "$input"
