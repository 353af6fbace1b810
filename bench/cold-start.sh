#!/bin/sh
# Cold start of a socket-activated pipelitd: from a stopped daemon, the time from connecting
# to the socket until the answer of the first API request (GET /api/v1/workflows/ with an
# API key: key check and a database read), and the daemon's resident memory (RSS, and PSS)
# once it idles after that answer. Targets: <= 100 ms and <= 15 MiB RSS.
#
#   bench/cold-start.sh [PIPELITD]      locally: systemd-socket-activate holds the socket and
#                                       starts PIPELITD (default build/pipelitd) on each first
#                                       connection, with a database made by the first run
#   bench/cold-start.sh --container DEB as root: installs the package DEB in a container with
#                                       systemd as PID 1 (the system tests' root file system,
#                                       $PIPELIT_SYSTEM_CACHE/rootfs-bookworm, made by
#                                       tests/system/test-package.py) and has systemd start it
#                                       from pipelitd.socket, under its hardened unit
#
# Env: RUNS (default 20). Needs python3 (and systemd-socket-activate, or systemd-nspawn and
# nsenter with --container). Prints one line per run, then min/median/max.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-20}
password=cold-start-password

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=""
cleanup() {
        for p in $pids; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The client, run where the socket is: "key PORT" logs in and prints an API key; "first
# PORT KEY" prints the milliseconds from connect() to the whole answer of an API request.
cat > "$tmp/client.py" <<'PY'
import http.client, json, sys, time
port = int(sys.argv[2])
if sys.argv[1] == "key":
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/api/v1/auth/token/", json.dumps({"username": "bench", "password": sys.argv[3]}),
                  {"Content-Type": "application/json"})
        print(json.load(c.getresponse())["key"])
else:
        started = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/api/v1/workflows/", headers={"Authorization": "Bearer " + sys.argv[3]})
        r = c.getresponse()
        body = r.read()
        elapsed = (time.monotonic() - started) * 1000
        if r.status != 200:
                sys.exit("status %d: %s" % (r.status, body[:200]))
        print("%.1f" % elapsed)
PY

# memory PID [RUN]: "RSS PSS" of the process in MiB (RUN: a command prefix to read /proc
# with). Most of the RSS is shared libraries' pages, which the PSS divides among the processes
# mapping them.
memory() {
        ${2:-} cat "/proc/$1/smaps_rollup" | awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { printf "%.1f %.1f", r / 1024, p / 1024 }'
}

summary() {
        python3 - "$@" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
for i, what in ((0, "first answer (ms)"), (1, "idle RSS (MiB)"), (2, "idle PSS (MiB)")):
        v = sorted(r[i] for r in rows)
        print("%-18s min %7.1f  median %7.1f  max %7.1f  (%d runs)" % (what, v[0], statistics.median(v), v[-1], len(v)))
PY
}

local_runs() {
        pipelitd=${1:-$top/build/pipelitd}
        state="$tmp/state"
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        echo "$password" | "$pipelitd" --state-dir "$state" --create-admin bench >/dev/null
        # One start for the key; the database is made then, so every run below finds it.
        "$pipelitd" --config /dev/null --state-dir "$state" --listen "127.0.0.1:$port" --log-level warning \
                2>/dev/null &
        pids=$!
        for _ in $(seq 50); do key=$(python3 "$tmp/client.py" key "$port" "$password" 2>/dev/null) && break; sleep 0.1; done
        kill "$pids"; wait "$pids" 2>/dev/null || true; pids=""

        for i in $(seq "$runs"); do
                systemd-socket-activate -l "127.0.0.1:$port" --fdname=http -E PATH \
                        "$pipelitd" --config /dev/null --state-dir "$state" --log-level warning 2>/dev/null &
                activator=$!
                pids=$activator
                # Listening before the daemon starts: systemd-socket-activate binds first.
                for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.01; done
                ms=$(python3 "$tmp/client.py" first "$port" "$key")
                sleep 1
                # systemd-socket-activate execs the daemon in its own process.
                echo "$ms $(memory "$activator")" | tee -a "$tmp/results"
                kill "$activator"; wait "$activator" 2>/dev/null || true; pids=""
        done
}

container_runs() {
        deb=$(readlink -f "$1")
        rootfs=${PIPELIT_SYSTEM_CACHE:-$top/build/tests/system/cache}/rootfs-bookworm
        [ -d "$rootfs" ] || { echo "no root file system in $rootfs: run tests/system/test-package.py once" >&2; exit 1; }
        cp "$deb" "$tmp/"
        systemd-nspawn -D "$rootfs" --boot --register=no --keep-unit --console=pipe --volatile=overlay \
                --private-network --bind-ro="$tmp:/opt/bench" </dev/null >"$tmp/console.log" 2>&1 &
        nspawn=$!
        pids=$nspawn
        init=""
        for _ in $(seq 100); do
                init=$(cut -d' ' -f1 "/proc/$nspawn/task/$nspawn/children" 2>/dev/null || true)
                [ -n "$init" ] && [ "$(nsenter -t "$init" -a systemctl is-system-running 2>/dev/null)" = running ] && break
                sleep 0.2
        done
        ct() { nsenter -t "$init" -a "$@"; }
        ct apt-get install -y -q --no-install-recommends "/opt/bench/$(basename "$deb")" >/dev/null
        ct systemctl start pipelitd.socket
        echo "$password" | ct pipelitctl user create bench --role admin >/dev/null
        key=$(ct python3 /opt/bench/client.py key 8080 "$password")

        for i in $(seq "$runs"); do
                ct systemctl stop pipelitd.service 2>/dev/null
                ct systemctl reset-failed pipelitd.service 2>/dev/null || true
                ms=$(ct python3 /opt/bench/client.py first 8080 "$key")
                sleep 1
                pid=$(ct systemctl show -P MainPID pipelitd.service)
                echo "$ms $(memory "$pid" ct)" | tee -a "$tmp/results"
        done
        kill "$nspawn"; wait "$nspawn" 2>/dev/null || true; pids=""
        for d in propagate locks ""; do rmdir "/run/systemd/nspawn/$d" 2>/dev/null || true; done
}

echo "ms    RSS-MiB PSS-MiB"
if [ "${1:-}" = "--container" ]; then
        container_runs "$2"
else
        local_runs "${1:-}"
fi
summary "$tmp/results"
