#!/usr/bin/env bash
# Usage: list-videos.sh [Running|Completed|Failed|Canceled|Terminated]   — video workflows, newest first.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
query="WorkflowType = 'VideoWorkflow'"
[ $# -ge 1 ] && query="$query AND ExecutionStatus = '$1'"
"$TEMPORAL" workflow list --query "$query"
