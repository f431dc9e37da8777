#!/usr/bin/env bash
# Usage: list-halted.sh [channel_id]   — videos halted by their cost cap, waiting for an approval.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
query="WorkflowType = 'VideoWorkflow' AND ExecutionStatus = 'Running' AND VideoStatus = 'halted'"
[ $# -ge 1 ] && query="$query AND ChannelId = '$1'"
"$TEMPORAL" workflow list --query "$query"
