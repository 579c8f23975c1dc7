#!/usr/bin/env bash
# Job queue benchmark, in one run on this machine: painel's worker on SQLite, on PostgreSQL
# (durable settings: fsync and synchronous_commit on; then synchronous_commit=off for the
# session), and BullMQ (installed from npm into a temporary directory by this script only),
# all on the same throwaway Redis and with the same concurrency levels.
#
# Usage: bench/jobs.sh            (BENCH_JOBS=50000 BENCH_CONCURRENCY=1,10,50 BENCH_PREFETCH=500
#                                   BENCH_LATENCY=300 BENCH_SKIP_BULLMQ=1 to leave BullMQ out,
#                                   BENCH_SKIP_SQLITE=1, BENCH_SKIP_ASYNC=1 to leave those out,
#                                   BENCH_WORKERS=1,2,4 worker processes on durable PostgreSQL
#                                   at BENCH_WORKERS_CONCURRENCY=10 each; empty: none;
#                                   BENCH_BEFORE_BIN=path: another painel build, run on durable
#                                   PostgreSQL in the same run, for before/after tables;
#                                   BENCH_BEFORE_FIRST=1 runs it first)
# Needs: cargo, node + npm (for BullMQ), root or sudo the first time (installs postgresql and
# redis-server like scripts/test). Ports: PAINEL_TEST_PG_PORT (54359), PAINEL_TEST_REDIS_PORT (63829).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../scripts/lib/services.sh
source "$repo_root/scripts/lib/services.sh"
cd "$repo_root"

jobs="${BENCH_JOBS:-50000}"
conc="${BENCH_CONCURRENCY:-1,10,50}"
prefetch="${BENCH_PREFETCH:-500}"
latency="${BENCH_LATENCY:-300}"
export PAINEL_TEST_PG_PORT="${PAINEL_TEST_PG_PORT:-54359}"
export PAINEL_TEST_REDIS_PORT="${PAINEL_TEST_REDIS_PORT:-63829}"
export PAINEL_PG_DURABLE=1

state="$(mktemp -d /tmp/painel-bench.XXXXXXXX)"
cleanup() {
  set +e
  painel_services_stop "$state"
  rm -rf -- "$state"
}
trap cleanup EXIT

painel_services_start "$state"
redis="$PAINEL_TEST_REDIS_URL"
pg_admin="$PAINEL_TEST_POSTGRES_URL"
pg_base="${pg_admin%/*}"

cargo build --release --quiet
bin="$repo_root/target/release/painel"
data="$state/data"
mkdir -p "$data"
run() { PAINEL_DATA_DIR="$data" PAINEL_REDIS_URL="$redis" "$bin" "$@"; }
results="$state/results.txt"
# Other processes share this machine's cores and disk: every section says the load it ran at.
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "### machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "${BENCH_SKIP_SQLITE:-0}" != 1 ]]; then
  echo "### painel on SQLite [load $(load)]"
  run bench jobs --jobs "$jobs" --concurrency "$conc" --prefetch "$prefetch" --latency-samples "$latency" |
    tee -a "$results"
fi

after_durable() {
  echo "### painel on PostgreSQL (durable: fsync on, synchronous_commit on) [load $(load)]"
  psql -q "$pg_admin" -c "CREATE DATABASE painel_bench"
  run --database-url "$pg_base/painel_bench" bench jobs --jobs "$jobs" --concurrency "$conc" \
    --prefetch "$prefetch" --latency-samples "$latency" | tee -a "$results"
}
before_durable() {
  [[ -n "${BENCH_BEFORE_BIN:-}" ]] || return 0
  echo "### painel BEFORE ($BENCH_BEFORE_BIN) on PostgreSQL (durable) [load $(load)]"
  psql -q "$pg_admin" -c "CREATE DATABASE painel_bench_before"
  PAINEL_DATA_DIR="$data" PAINEL_REDIS_URL="$redis" "$BENCH_BEFORE_BIN" --database-url "$pg_base/painel_bench_before" \
    bench jobs --jobs "$jobs" --concurrency "$conc" --prefetch "$prefetch" --latency-samples "$latency" |
    sed 's/engine=postgres/engine=postgres-before/' | tee -a "$results"
}
# The machine's load drifts during a run: BENCH_BEFORE_FIRST=1 swaps the order, so two runs
# can show the drift is not the difference.
if [[ "${BENCH_BEFORE_FIRST:-0}" == 1 ]]; then
  before_durable
  after_durable
else
  after_durable
  before_durable
fi

workers="${BENCH_WORKERS-1,2,4}"
if [[ -n "$workers" ]]; then
  for n in ${workers//,/ }; do
    echo "### painel on PostgreSQL (durable), $n worker processes [load $(load)]"
    run --database-url "$pg_base/painel_bench" bench jobs --jobs "$jobs" --workers "$n" \
      --concurrency "${BENCH_WORKERS_CONCURRENCY:-10}" --prefetch "$prefetch" --latency-samples 0 |
      tee -a "$results"
  done
fi

if [[ "${BENCH_SKIP_ASYNC:-0}" != 1 ]]; then
  echo "### painel on PostgreSQL (synchronous_commit=off for the worker's session) [load $(load)]"
  psql -q "$pg_admin" -c "CREATE DATABASE painel_bench_async"
  run --database-url "$pg_base/painel_bench_async?options=-c%20synchronous_commit%3Doff" bench jobs \
    --jobs "$jobs" --concurrency "$conc" --prefetch "$prefetch" --latency-samples 0 |
    sed 's/engine=postgres/engine=postgres-async/' | tee -a "$results"
fi

if [[ "${BENCH_SKIP_BULLMQ:-0}" != 1 ]]; then
  echo "### BullMQ (npm install into $state/bullmq) [load $(load)]"
  mkdir -p "$state/bullmq"
  cp bench/bullmq/package.json bench/bullmq/bench.mjs "$state/bullmq/"
  (cd "$state/bullmq" && npm install --silent --no-audit --no-fund >/dev/null)
  node "$state/bullmq/bench.mjs" --redis "$redis" --jobs "$jobs" --concurrency "$conc" --latency "$latency" |
    tee -a "$results"
fi

echo "### machine load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "### summary (jobs/s by concurrency; latency p50/p95 ms)"
grep '^RESULT' "$results" | sed 's/^RESULT //'
