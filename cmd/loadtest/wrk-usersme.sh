#!/usr/bin/env bash
# GET /users/me under wrk on the example server, one store after another
# in alternating rounds within one run, for ratios measured together:
# SQLite (the default: the file locked, users cached) and PostgreSQL, with
# this checkout's server and, if BASE names a commit, that commit's server
# on PostgreSQL too (the one before the cache, say).
#
#   bash cmd/loadtest/wrk-usersme.sh 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
#
# Environment: ROUNDS (3), DURATION (10s), THREADS (2), CONNS (32), USERS
# (1: one token for every request; N: wrk rotates N users' tokens), BASE
# (a commit; empty: no base server). Needs wrk, curl, jq and psql. For
# each PostgreSQL run it also reports the database's transactions (every
# statement outside a transaction is one) and the index scans of
# auth_users per request, from PostgreSQL's statistics.
set -euo pipefail
cd "$(dirname "$0")/../.."
pg=${1:?usage: wrk-usersme.sh POSTGRES_URL}
rounds=${ROUNDS:-3} duration=${DURATION:-10s} threads=${THREADS:-2} conns=${CONNS:-32} users=${USERS:-1} base=${BASE:-}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$pg" -c "DROP SCHEMA IF EXISTS wrk_new CASCADE; DROP SCHEMA IF EXISTS wrk_base CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/new" ./examples/server
if [ -n "$base" ]; then
  git worktree add -q --detach "$work/base-src" "$base"
  (cd "$work/base-src" && go build -o "$work/base" ./examples/server)
  git worktree remove --force "$work/base-src"
fi

key=0123456789abcdef0123456789abcdef-wrk-usersme
# start NAME BINARY DB: a server on a free port, its URL in $work/NAME.url
start() {
  local name=$1 bin=$2 db=$3
  mkdir -p "$work/$name"
  # Trusting the loopback as a proxy lets each user sign up from an
  # address of its own (X-Forwarded-For), under the signup limit.
  AUTH_SECRET_KEY=$key "$bin" -addr 127.0.0.1:0 -data "$work/$name" -db "$db" -trusted-proxies 127.0.0.1 >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -qo 'listening on http://[0-9.:]*' "$work/$name.log"; then
      grep -o 'listening on http://[0-9.:]*' "$work/$name.log" | head -n 1 | sed 's/listening on //' >"$work/$name.url"
      return
    fi
    sleep 0.1
  done
  cat "$work/$name.log"
  exit 1
}
# tokens NAME: USERS users signed up and logged in, their access tokens in $work/NAME.tokens
tokens() {
  local name=$1 url
  url=$(cat "$work/$name.url")
  : >"$work/$name.tokens"
  for i in $(seq 1 "$users"); do
    from="X-Forwarded-For: 10.$((i / 65536 % 256)).$((i / 256 % 256)).$((i % 256))"
    curl -sf "$url/signup" -H "$from" -H 'Content-Type: application/json' \
      -d "{\"username\": \"wrk$i\", \"password\": \"correct horse battery staple\"}" >/dev/null
    curl -sf "$url/token" -H "$from" -d username="wrk$i" --data-urlencode 'password=correct horse battery staple' |
      jq -r .access_token >>"$work/$name.tokens"
  done
}
cat >"$work/rotate.lua" <<'EOF'
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/users/me", { ["Authorization"] = "Bearer " .. tokens[i] })
end
EOF

psql -q "$pg" -c "DROP SCHEMA IF EXISTS wrk_new CASCADE; CREATE SCHEMA wrk_new" >/dev/null
sep='?'
case $pg in *\?*) sep='&' ;; esac
names=(sqlite postgres)
start sqlite "$work/new" sqlite
start postgres "$work/new" "$pg${sep}search_path=wrk_new"
if [ -n "$base" ]; then
  psql -q "$pg" -c "DROP SCHEMA IF EXISTS wrk_base CASCADE; CREATE SCHEMA wrk_base" >/dev/null
  start postgres-base "$work/base" "$pg${sep}search_path=wrk_base"
  names+=(postgres-base)
fi
for n in "${names[@]}"; do tokens "$n"; done

# stats SCHEMA: the database's committed transactions, and auth_users' index scans
stats() {
  sleep 11 # PostgreSQL 15's backends flush their statistics within 10 s of going idle
  psql -tA "$pg" -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
    (SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE schemaname = '$1' AND relname = 'auth_users')"
}

echo "wrk -t$threads -c$conns -d$duration, $rounds rounds, $users user(s), $(nproc) cores"
for r in $(seq 1 "$rounds"); do
  for n in "${names[@]}"; do
    url=$(cat "$work/$n.url")
    schema=
    case $n in postgres) schema=wrk_new ;; postgres-base) schema=wrk_base ;; esac
    [ -n "$schema" ] && before=$(stats "$schema")
    out=$(WRK_TOKENS="$work/$n.tokens" wrk -t"$threads" -c"$conns" -d"$duration" -s "$work/rotate.lua" "$url/users/me")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    extra=
    if [ -n "$schema" ]; then
      after=$(stats "$schema")
      extra=$(awk -F'|' -v b="$before" -v a="$after" -v n="$reqs" 'BEGIN {
        split(b, x, "|"); split(a, y, "|");
        printf "transactions/request %.4f, auth_users scans/request %.4f", (y[1] - x[1]) / n, (y[2] - x[2]) / n }')
    fi
    echo "round $r $n: $rps req/s ($reqs requests, non-2xx ${non2xx:-0}) $extra"
  done
done
