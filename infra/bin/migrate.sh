#!/usr/bin/env bash
# Creates the database named by DATABASE_URL if needed and applies pending migrations.
source "$(dirname "$0")/lib.sh"
ensure_infra_built
node "$INFRA_DIR/dist/migrate.js"
