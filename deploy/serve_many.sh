#!/usr/bin/env bash
# Serve the playground as PROCESSES app processes behind HAProxy on one address.
#
#   PROCESSES=2 GRADIO_SERVER_PORT=7860 deploy/serve_many.sh
#
# Each Gradio session stays on one process (its queue, event stream and state live there):
# HAProxy inserts a SERVERID cookie on the first response (browsers and gradio_client send it
# back); a client without cookies is routed by the session_hash it sends (the query string of
# /gradio_api/queue/data, the JSON body of /gradio_api/queue/join and /gradio_api/call/*).
# All processes share the vote database (ARENA_DATABASE_URL, else SQLite under /data or ./data).
#
# Settings (environment):
#   PROCESSES           app processes (default: one per core)
#   GRADIO_SERVER_PORT  the public port HAProxy listens on (default 7860)
#   GRADIO_SERVER_NAME  the public address (default 127.0.0.1; 0.0.0.0 for every interface)
#   BACKEND_PORTS       the app processes' ports on 127.0.0.1, space-separated (default: the next
#                       PROCESSES ports after GRADIO_SERVER_PORT)
#   PYTHON              the interpreter (default: .venv/bin/python if present, else python3)
#   HAPROXY             the haproxy binary (default: haproxy on PATH; Debian: apt-get install haproxy)
# Stops every process it started on SIGINT/SIGTERM, or when any of them exits.
set -euo pipefail
cd "$(dirname "$0")/.."

PROCESSES=${PROCESSES:-$(nproc)}
PUBLIC_PORT=${GRADIO_SERVER_PORT:-7860}
PUBLIC_HOST=${GRADIO_SERVER_NAME:-127.0.0.1}
HAPROXY=${HAPROXY:-haproxy}
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
if [ -z "${BACKEND_PORTS:-}" ]; then
  BACKEND_PORTS=$(seq $((PUBLIC_PORT + 1)) $((PUBLIC_PORT + PROCESSES)) | tr '\n' ' ')
fi
read -r -a PORTS <<<"$BACKEND_PORTS"
if [ "${#PORTS[@]}" -ne "$PROCESSES" ]; then
  echo "serve_many: BACKEND_PORTS names ${#PORTS[@]} ports for $PROCESSES processes" >&2
  exit 2
fi
command -v "$HAPROXY" >/dev/null 2>&1 || { echo "serve_many: haproxy not found (apt-get install -y haproxy)" >&2; exit 2; }

# Each proxied connection takes two file descriptors (visitor and app): stay within the limit.
FD_LIMIT=$(ulimit -n)
MAXCONN=$(( FD_LIMIT == 0 ? 10000 : (FD_LIMIT - 100) / 2 ))
[ "$MAXCONN" -le 10000 ] || MAXCONN=10000

RUN_DIR=$(mktemp -d -t serve-many-XXXXXX)
PIDS=()
stop() {
  trap - INT TERM EXIT
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The processes create and upgrade the database on start; do it once first so they start in parallel
# against a ready schema (they would also agree among themselves: migrations take a lock).
"$PYTHON" -c 'from playground.arena import Arena; Arena.from_env().ledger.close()'

for i in "${!PORTS[@]}"; do
  GRADIO_SERVER_NAME=127.0.0.1 GRADIO_SERVER_PORT=${PORTS[$i]} "$PYTHON" app.py &
  PIDS+=($!)
done

# Wait until every process listens, so the first visitors are never refused.
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "serve_many: an app process exited" >&2; exit 1; }; done
    sleep 0.2
  done
done

{
  cat <<CFG
global
    maxconn ${MAXCONN}
    log stderr format short local0 notice

defaults
    mode http
    log global
    option dontlognull
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 30s
    timeout http-keep-alive 30s

frontend playground
    bind ${PUBLIC_HOST}:${PUBLIC_PORT}
    option forwardfor
    default_backend apps

backend apps
    balance roundrobin
    cookie SERVERID insert indirect nocache httponly
    option http-buffer-request
    # A client without the cookie: route by its Gradio session_hash (query string, else JSON body).
    http-request set-var(txn.session) url_param(session_hash) if !{ req.cook(SERVERID) -m found }
    http-request set-var(txn.session) req.body,json_query('$.session_hash') if !{ req.cook(SERVERID) -m found } !{ var(txn.session) -m found } { req.hdr(content-type) -m sub json }
    http-request set-var(txn.slot) var(txn.session),crc32,mod(${PROCESSES}) if { var(txn.session) -m found }
CFG
  for i in "${!PORTS[@]}"; do
    echo "    use-server app$((i + 1)) if { var(txn.slot) -m int $i }"
  done
  for i in "${!PORTS[@]}"; do
    echo "    server app$((i + 1)) 127.0.0.1:${PORTS[$i]} cookie app$((i + 1)) check inter 2s fall 3 rise 1"
  done
} >"$RUN_DIR/haproxy.cfg"

"$HAPROXY" -c -q -f "$RUN_DIR/haproxy.cfg"
"$HAPROXY" -db -f "$RUN_DIR/haproxy.cfg" &
PIDS+=($!)
echo "serve_many: $PROCESSES app processes (ports ${PORTS[*]}) behind http://${PUBLIC_HOST}:${PUBLIC_PORT}/" >&2

# Run until any process exits (then stop the others) or a signal arrives.
set +e
wait -n "${PIDS[@]}"
status=$?
echo "serve_many: a process exited with status $status; stopping" >&2
exit "$status"
