# shellcheck shell=bash
# Shared helpers for throwaway PostgreSQL + Redis servers used by the test suite.
# Sourced by scripts/test and scripts/services; not meant to be run directly.
#
# Every server lives under a "state dir" (e.g. a mktemp dir, or /tmp/painel-services):
#   <state>/pg/data      PostgreSQL cluster (owned by the system user when run as root)
#   <state>/pg/sock      its unix socket directory
#   <state>/pg/server.log
#   <state>/redis/       Redis dir, redis.pid, redis.log
#   <state>/ports        PG_PORT=… / REDIS_PORT=… actually used
#
# Tunables (environment):
#   PAINEL_TEST_PG_PORT     (default 54329)
#   PAINEL_TEST_REDIS_PORT  (default 63799)
#   PAINEL_TEST_PG_USER     system user that owns the cluster when running as root
#                           (default painel-test; initdb refuses to run as root)
#   PAINEL_TEST_START_TIMEOUT  seconds to wait for each server (default 30)
#   PAINEL_PG_DURABLE=1     keep PostgreSQL's fsync/synchronous_commit (benchmarks)
#   PAINEL_PG_EXTRA_OPTS    more `-c name=value` server settings (benchmarks' diagnostics)

PAINEL_PG_ROLE=painel
# The application role tests connect as (migrations run as $PAINEL_PG_ROLE, the owner):
# NOSUPERUSER NOBYPASSRLS, like production (README "PostgreSQL roles"), so row-level security
# applies to every test. Grants are per database (tests/suite/common.rs).
PAINEL_PG_APP_ROLE=painel_app

painel_log() { printf '[services] %s\n' "$*" >&2; }

painel_die() {
  {
    printf '\n'
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!! ERROR: %s\n' "$*"
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  } >&2
  exit 1
}

painel_pg_port() { printf '%s' "${PAINEL_TEST_PG_PORT:-54329}"; }
painel_redis_port() { printf '%s' "${PAINEL_TEST_REDIS_PORT:-63799}"; }
painel_pg_sysuser() { printf '%s' "${PAINEL_TEST_PG_USER:-painel-test}"; }

# Newest /usr/lib/postgresql/<v>/bin that has initdb (empty if none).
painel_pg_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] || continue
    if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1)" == "$d" ]]; then
      best="$d"
    fi
  done
  printf '%s' "$best"
}

# Install postgresql, redis-server, tmux and keyutils (keyctl: the session-keyring test) if
# their binaries are missing.
painel_ensure_packages() {
  local missing=()
  [[ -n "$(painel_pg_bindir)" ]] || missing+=(postgresql)
  { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || missing+=(redis-server)
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  command -v keyctl >/dev/null 2>&1 || missing+=(keyutils)
  # sshd + ssh: the jump-host test (tests/suite/ssh_e2e.rs).
  { [[ -x /usr/sbin/sshd ]] && command -v ssh; } >/dev/null 2>&1 || missing+=(openssh-server)
  ((${#missing[@]} == 0)) && return 0

  painel_log "installing missing Debian packages: ${missing[*]} (apt-get, quiet; may take a minute)"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 ||
      painel_die "need to install ${missing[*]} but not root and no sudo; install them yourself"
    sudo=(sudo)
  fi
  local apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq ||
    painel_die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq \
    --no-install-recommends "${missing[@]}" ||
    painel_die "apt-get install ${missing[*]} failed"
  [[ -n "$(painel_pg_bindir)" ]] || painel_die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
  command -v redis-server >/dev/null 2>&1 || painel_die "redis-server still missing after install"
  command -v tmux >/dev/null 2>&1 || painel_die "tmux still missing after install"
  command -v keyctl >/dev/null 2>&1 || painel_die "keyctl still missing after install (keyutils)"
  [[ -x /usr/sbin/sshd ]] || painel_die "sshd still missing after install (openssh-server)"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
painel_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

painel_check_port_free() { # <port> <what>
  if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then
    painel_die "invalid port '$1' for $2"
  fi
  if painel_port_in_use "$1"; then
    painel_die "port 127.0.0.1:$1 needed for $2 is already in use.
!!! Is 'scripts/services' (or another test run) still running? Stop it ('scripts/services stop')
!!! or choose other ports with PAINEL_TEST_PG_PORT / PAINEL_TEST_REDIS_PORT."
  fi
}

# Run a command as the cluster owner (the system user when we are root, else ourselves).
painel_as_pg_owner() {
  if ((EUID == 0)); then
    runuser -u "$(painel_pg_sysuser)" -- "$@"
  else
    "$@"
  fi
}

painel_ensure_pg_sysuser() {
  ((EUID == 0)) || return 0
  local u
  u="$(painel_pg_sysuser)"
  getent passwd "$u" >/dev/null && return 0
  painel_log "creating system user $u (initdb refuses to run as root)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group "$u" || painel_die "could not create system user $u"
}

painel_print_file() { # <file> <title>
  {
    printf -- '----- %s (%s) -----\n' "$2" "$1"
    if [[ -f "$1" ]]; then tail -n 100 "$1"; else printf '(no log file)\n'; fi
    printf -- '----- end of %s -----\n' "$2"
  } >&2
}

# Start a throwaway PostgreSQL cluster under <state>/pg. Role "painel" is its superuser,
# trust auth, listening on 127.0.0.1:<port> only.
painel_pg_start() { # <state-dir>
  local state="$1" bindir port pg timeout u
  bindir="$(painel_pg_bindir)"
  [[ -n "$bindir" ]] || painel_die "no PostgreSQL found under /usr/lib/postgresql/*/bin"
  port="$(painel_pg_port)"
  timeout="${PAINEL_TEST_START_TIMEOUT:-30}"
  pg="$state/pg"
  painel_check_port_free "$port" PostgreSQL
  painel_ensure_pg_sysuser

  mkdir -p "$pg/sock"
  if ((EUID == 0)); then
    u="$(painel_pg_sysuser)"
    # The system user must be able to traverse the state dir to reach its own pg/.
    chmod 0711 "$state"
    chown -R "$u:" "$pg"
  fi
  chmod 0700 "$pg"

  painel_log "initdb ($("$bindir/postgres" --version)) in $pg/data"
  # cd: the cluster owner may not be allowed into our current directory (e.g. /root).
  if ! (cd "$pg" && painel_as_pg_owner "$bindir/initdb" -D "$pg/data" -U "$PAINEL_PG_ROLE" \
    --auth=trust --encoding=UTF8 --no-locale --no-sync >"$pg/initdb.log" 2>&1); then
    painel_print_file "$pg/initdb.log" "initdb output"
    painel_die "initdb failed"
  fi

  local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg/sock"
  opts+=" -c max_connections=300"
  # Tests trade durability for speed; benchmarks (PAINEL_PG_DURABLE=1) keep the defaults.
  if [[ "${PAINEL_PG_DURABLE:-0}" != 1 ]]; then
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  # Extra server settings, e.g. a benchmark's `-c shared_preload_libraries=pg_stat_statements`.
  opts+="${PAINEL_PG_EXTRA_OPTS:+ $PAINEL_PG_EXTRA_OPTS}"
  if ! (cd "$pg" && painel_as_pg_owner "$bindir/pg_ctl" -D "$pg/data" -l "$pg/server.log" \
    -o "$opts" -W start >"$pg/pg_ctl.log" 2>&1); then
    painel_print_file "$pg/pg_ctl.log" "pg_ctl output"
    painel_print_file "$pg/server.log" "PostgreSQL server log"
    painel_die "pg_ctl start failed"
  fi

  local i ready=0 died=0
  for ((i = 0; i < timeout * 4; i++)); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PAINEL_PG_ROLE" -d postgres; then
      ready=1
      break
    fi
    # Postmaster already gone (e.g. could not bind)? No point waiting.
    if ((i > 4)) && ! (cd "$pg" && painel_as_pg_owner "$bindir/pg_ctl" -D "$pg/data" status >/dev/null 2>&1); then
      died=1
      break
    fi
    sleep 0.25
  done
  if ((ready)); then
    # Make sure the server answering on the port is ours and not some other cluster.
    local dd
    dd="$("$bindir/psql" -X -At -h 127.0.0.1 -p "$port" -U "$PAINEL_PG_ROLE" -d postgres \
      -c 'SHOW data_directory' 2>/dev/null || true)"
    if [[ "$dd" != "$pg/data" ]]; then
      painel_print_file "$pg/server.log" "PostgreSQL server log"
      painel_die "something answers on 127.0.0.1:$port but it is not our PostgreSQL (data_directory='$dd')"
    fi
  else
    painel_print_file "$pg/server.log" "PostgreSQL server log"
    if ((died)); then
      painel_die "PostgreSQL exited during startup on 127.0.0.1:$port (see its log above)"
    fi
    painel_die "PostgreSQL did not become ready on 127.0.0.1:$port within ${timeout}s (see its log above)"
  fi
  if ! "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$PAINEL_PG_ROLE" -d postgres \
    -c "CREATE ROLE $PAINEL_PG_APP_ROLE LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE" >/dev/null; then
    painel_die "could not create the application role $PAINEL_PG_APP_ROLE"
  fi
  printf 'PG_PORT=%s\n' "$port" >>"$state/ports"
  painel_log "PostgreSQL ready on 127.0.0.1:$port (owner '$PAINEL_PG_ROLE', application role '$PAINEL_PG_APP_ROLE')"
}

painel_pg_stop() { # <state-dir>   (best effort, never fails)
  local pg="$1/pg" bindir pid
  [[ -f "$pg/data/postmaster.pid" ]] || return 0
  bindir="$(painel_pg_bindir)"
  if [[ -n "$bindir" ]] &&
    (cd "$pg" && painel_as_pg_owner "$bindir/pg_ctl" -D "$pg/data" -m fast -t 30 -w stop >/dev/null 2>&1); then
    painel_log "PostgreSQL stopped"
    return 0
  fi
  pid="$(head -n1 "$pg/data/postmaster.pid" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    painel_log "pg_ctl stop failed; killing postmaster $pid"
    kill -QUIT "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  return 0
}

painel_redis_pid_on_port() { # <port>: process_id reported by the Redis answering there
  redis-cli -h 127.0.0.1 -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p'
}

# Start a throwaway Redis (no persistence) under <state>/redis on 127.0.0.1:<port>.
painel_redis_start() { # <state-dir>
  local state="$1" rd port timeout
  port="$(painel_redis_port)"
  timeout="${PAINEL_TEST_START_TIMEOUT:-30}"
  rd="$state/redis"
  painel_check_port_free "$port" Redis
  printf 'REDIS_PORT=%s\n' "$port" >>"$state/ports"
  mkdir -p "$rd"
  chmod 0700 "$rd"
  painel_log "starting $(redis-server --version | cut -d' ' -f1-3)"
  if ! redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$rd" --pidfile "$rd/redis.pid" --logfile "$rd/redis.log" >"$rd/start.log" 2>&1; then
    painel_print_file "$rd/start.log" "redis-server output"
    painel_print_file "$rd/redis.log" "Redis log"
    painel_die "redis-server failed to start"
  fi
  local i ready=0 died=0 pid
  for ((i = 0; i < timeout * 4; i++)); do
    if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; then
      ready=1
      break
    fi
    pid="$(cat "$rd/redis.pid" 2>/dev/null || true)"
    if ((i > 4)) && ! { [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; }; then
      died=1 # our redis died (e.g. could not bind)
      break
    fi
    sleep 0.25
  done
  if ((ready)); then
    # Make sure the Redis answering is ours.
    local their
    pid="$(cat "$rd/redis.pid" 2>/dev/null || true)"
    their="$(painel_redis_pid_on_port "$port")"
    if [[ -z "$pid" || "$their" != "$pid" ]]; then
      painel_print_file "$rd/redis.log" "Redis log"
      painel_die "something answers on 127.0.0.1:$port but it is not our Redis (pid '$their' vs pidfile '$pid')"
    fi
  else
    painel_print_file "$rd/redis.log" "Redis log"
    if ((died)); then
      painel_die "Redis exited during startup on 127.0.0.1:$port (see its log above)"
    fi
    painel_die "Redis did not answer PING on 127.0.0.1:$port within ${timeout}s (see its log above)"
  fi
  painel_log "Redis ready on 127.0.0.1:$port"
}

painel_redis_stop() { # <state-dir>   (best effort, never fails)
  local rd="$1/redis" pid port i
  pid="$(cat "$rd/redis.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  port="$(painel_state_port "$1" REDIS_PORT)"
  # Only talk to the port if the Redis there is ours; otherwise signal our pid (SIGTERM = shutdown).
  if [[ -n "$port" ]] && [[ "$(painel_redis_pid_on_port "$port")" == "$pid" ]]; then
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    painel_log "redis shutdown failed; killing $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  painel_log "Redis stopped"
  return 0
}

painel_state_port() { # <state-dir> <PG_PORT|REDIS_PORT>
  sed -n "s/^$2=//p" "$1/ports" 2>/dev/null | tail -n1
}

# Print `export …` lines for the servers under <state-dir>.
painel_services_env() { # <state-dir>
  local pgp rp
  pgp="$(painel_state_port "$1" PG_PORT)"
  rp="$(painel_state_port "$1" REDIS_PORT)"
  [[ -n "$pgp" && -n "$rp" ]] || painel_die "no running services recorded in $1"
  printf 'export PAINEL_TEST_POSTGRES_URL=postgres://%s@127.0.0.1:%s/postgres\n' "$PAINEL_PG_ROLE" "$pgp"
  printf 'export PAINEL_TEST_POSTGRES_APP_URL=postgres://%s@127.0.0.1:%s/postgres\n' "$PAINEL_PG_APP_ROLE" "$pgp"
  printf 'export PAINEL_TEST_REDIS_URL=redis://127.0.0.1:%s/\n' "$rp"
}

# Start both servers under <state-dir> (which must exist) and export the URLs.
painel_services_start() { # <state-dir>
  painel_ensure_packages
  : >"$1/ports"
  painel_pg_start "$1"
  painel_redis_start "$1"
  eval "$(painel_services_env "$1")"
}

painel_services_stop() { # <state-dir>   (best effort, never fails)
  painel_redis_stop "$1"
  painel_pg_stop "$1"
  return 0
}
