#!/usr/bin/env bash
# Usage: approve-video.sh <video_id> <new_cap_usd> <approved_by> <reason...>
# Raises a video's cost cap through the API (POST /pipeline/approve), so roles and the record of who approved apply:
# the ledger names the key this script signs in with (YTEMPIRE_API_KEY, else data/admin.key) "for <approved_by>".
# A halted video continues; a cap not above the current one, or above what the key's role may approve, is refused.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -ge 4 ] || { echo "usage: $0 <video_id> <new_cap_usd> <approved_by> <reason...>" >&2; exit 2; }
video="${1#video-}"; cap="$2"; who="$3"; shift 3
body=$("$PYTHON" -c 'import json, sys; print(json.dumps({"new_cap_usd": float(sys.argv[1]), "approved_by": sys.argv[2],
"reason": sys.argv[3]}))' "$cap" "$who" "$*")
api_curl -X POST "$API/pipeline/approve/$video" -H 'content-type: application/json' -d "$body"; echo
