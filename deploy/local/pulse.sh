#!/usr/bin/env bash
# The `pulse` operator command against the local stack (`make up`), connected as the
# application role and the operator's Redis and Kafka users with the generated credentials:
#   bash deploy/local/pulse.sh token --business-id 2
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
load_credentials

PULSE_DATABASE_URL="$(app_database_url)"
PULSE_REDIS_URL="$(redis_url_for operator)"
export PULSE_DATABASE_URL PULSE_REDIS_URL
export_kafka_user operator
# Members and tokens go through the workspace's operator routes.
export PULSE_WORKSPACE_URL="http://127.0.0.1:${PULSE_WORKSPACE_PORT:-8400}"
export PULSE_WORKSPACE_OPERATOR_TOKEN
cd "$ROOT" && exec uv run --frozen --quiet pulse "$@"
