#!/usr/bin/env bash
# Usage: cancel-channel.sh <channel_id>   — batch-cancel every unfinished video of a channel (one search-attribute
# query); renders in progress have their ffmpeg killed, costs so far stay in the ledger, partial files are removed.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
[ $# -eq 1 ] || { echo "usage: $0 <channel_id>" >&2; exit 2; }
"$TEMPORAL" workflow cancel --yes --reason "cancel-channel.sh $1" \
  --query "WorkflowType = 'VideoWorkflow' AND ExecutionStatus = 'Running' AND ChannelId = '$1'"
