#!/usr/bin/env bash
# Admin dashboard benchmark on PostgreSQL (see bench/README.md): seeds TENANTS tenants and
# MESSAGES messages (once; the database is kept for re-runs), then times the admin pages
# through the release build of the app, as a non-superuser app role (row-level security on).
#
#   bench/admin_dashboard.sh                         # 10,000 tenants, 10 million messages
#   TENANTS=1000 MESSAGES=100000 RUNS=20 bench/admin_dashboard.sh
#   DROP_DB=1 bench/admin_dashboard.sh               # drop the bench database afterwards
#
# Needs a local PostgreSQL superuser URL in PG_ADMIN_URL (default: postgres on 127.0.0.1,
# trust auth). Talks only to 127.0.0.1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${BENCH_DB:-wdx_admin_bench}
APP_ROLE=${BENCH_APP_ROLE:-wdx_bench_app}
TENANTS=${TENANTS:-10000}
MESSAGES=${MESSAGES:-10000000}
RUNS=${RUNS:-50}

[[ $DB =~ ^[a-z0-9_]+$ && $APP_ROLE =~ ^[a-z0-9_]+$ ]] || { echo "bad BENCH_DB or BENCH_APP_ROLE" >&2; exit 1; }
db_url() { # URL of database $1 on the admin URL's server and user
    local base=${PG_ADMIN_URL%/*}
    echo "$base/$1"
}

psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qtA <<SQL
SELECT 'CREATE DATABASE $DB' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB')\gexec
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    CREATE ROLE $APP_ROLE LOGIN;
  END IF;
END \$\$;
SQL

OWNER_URL=$(db_url "$DB")
APP_URL=$(echo "$OWNER_URL" | sed -E "s#//[^@/]+@#//$APP_ROLE@#")

cd "$REPO_DIR"
cargo run --release --locked --example admin_bench -- \
    --owner-url "$OWNER_URL" --app-url "$APP_URL" \
    --tenants "$TENANTS" --messages "$MESSAGES" --runs "$RUNS"

if [[ ${DROP_DB:-0} == 1 ]]; then
    psql "$PG_ADMIN_URL" -qtA -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
