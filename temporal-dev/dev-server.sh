#!/usr/bin/env bash
# The Temporal dev server as the pipeline expects it (what `make up` runs), in the foreground.
set -euo pipefail
source "$(dirname "$0")/_cli.sh"
mkdir -p "$repo/data"
exec "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "${TEMPORAL_ADDRESS##*:}" \
  --db-filename "$repo/data/temporal.db" --ui-ip 127.0.0.1 --ui-port 8233 --ui-disable-news-fetch \
  --ui-codec-endpoint "$API/codec" \
  --dynamic-config-value matching.priorityLevels=10 \
  --dynamic-config-value matching.enableFairness=true \
  --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
  --dynamic-config-value matching.numTaskqueueWritePartitions=1 \
  --search-attribute VideoStatus=Keyword --search-attribute VideoStage=Keyword \
  --search-attribute ChannelId=Keyword --search-attribute Priority=Int --search-attribute Complexity=Keyword \
  --metrics-port 7244 --log-level warn
