#!/usr/bin/env bash
# compare.sh — run the same `parley bench` rows against ejabberd, Prosody
# and Parley on this machine, alternating, and print a table.
#
# Usage: bench/compare.sh [ROW...]
#   rows: mem5k mem15k login throughput throughput-tls latency
#   (default: all of them; "small" = mem1k login throughput latency with
#   1,000 clients, for a quick check)
#
# Needs: Debian's ejabberd, erlang-p1-sqlite3, prosody, lua-dbi-sqlite3,
# openssl, jq, go; run as root (the servers run as their own users through
# setpriv, which keeps this shell's open-file limit). Before installing the
# packages, make /usr/sbin/policy-rc.d exit 101 so that Debian does not
# start the packaged daemons on the standard ports.
#
# Each server runs from bench/<server> configuration on its own loopback
# port (ejabberd 15222, Prosody 25222, Parley 31222: all below Linux's
# ephemeral range, where a client connection could hold one) with its data in a
# temporary directory. All three are started first and the accounts are
# registered once; then every row runs against each server in turn, the
# order rotating from row to row. A memory row restarts the server first,
# so that every server starts it with a fresh heap.
#
# Environment: OUT (results directory, default bench/results/DATE),
# MAX_LOAD (wait for the 1-minute load average to fall below it, default
# 0.6; up to WAIT_LOAD seconds, default 600), SERVERS (default
# "ejabberd prosody parley"), PARLEY_BIN (a parley binary to use instead of
# building one from this tree), REPEAT (run the whole list of rows this
# many times, default 1; with more, a table of medians per row and server
# follows the table of runs).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$HERE/results/$STAMP}
MAX_LOAD=${MAX_LOAD:-0.6}
WAIT_LOAD=${WAIT_LOAD:-600}
SERVERS=${SERVERS:-"ejabberd prosody parley"}
REPEAT=${REPEAT:-1}
WORK=$(mktemp -d /tmp/parley-compare.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl

ulimit -n 20000

log() { echo "compare: $*" >&2; }

# The rows: name, then the arguments given to parley bench. Connection
# details and --pid are added per server.
declare -A ROW=(
	[mem1k]="--clients 1000 --tls starttls --mech SCRAM-SHA-1 --register=false --hold 10s --duration 0"
	[mem5k]="--clients 5000 --tls starttls --mech SCRAM-SHA-1 --register=false --hold 10s --duration 0"
	[mem15k]="--clients 15000 --tls starttls --mech SCRAM-SHA-1 --register=false --hold 10s --duration 0 --concurrency 100"
	[login]="--clients 5000 --tls none --mech SCRAM-SHA-1 --register=false --duration 0"
	[throughput]="--clients 1000 --tls none --mech SCRAM-SHA-1 --register=false --duration 10s --window 5"
	[throughput-tls]="--clients 1000 --tls starttls --mech SCRAM-SHA-1 --register=false --duration 10s --window 5"
	[latency]="--clients 1000 --tls none --mech SCRAM-SHA-1 --register=false --rate 2000 --duration 20s"
)
ROWS=("$@")
if [ ${#ROWS[@]} -eq 0 ]; then
	ROWS=(mem5k mem15k login throughput throughput-tls latency)
elif [ "${ROWS[0]}" = small ]; then
	ROWS=(mem1k login throughput latency)
fi
ACCOUNTS=1000
for r in "${ROWS[@]}"; do
	[ -n "${ROW[$r]:-}" ] || { log "unknown row $r"; exit 2; }
	n=$(sed -n 's/.*--clients \([0-9]*\).*/\1/p' <<<"${ROW[$r]}")
	[ "$n" -gt "$ACCOUNTS" ] && ACCOUNTS=$n
done

declare -A PORT=([ejabberd]=15222 [prosody]=25222 [parley]=31222)
declare -A PID=()

if [ -n "${PARLEY_BIN:-}" ]; then
	PARLEY=$PARLEY_BIN
else
	log "building parley"
	mkdir -p "$WORK/bin"
	(cd "$ROOT" && go build -o "$WORK/bin/parley" ./cmd/parley)
	PARLEY=$WORK/bin/parley
fi

cert() { # dir
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-keyout "$1/key.pem" -out "$1/crt.pem" 2>/dev/null
	cat "$1/crt.pem" "$1/key.pem" >"$1/cert.pem"
}

wait_port() { # port
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	log "nothing listens on port $1"
	return 1
}

prepare() { # server: data directory and configuration
	local d=$WORK/$1
	mkdir -p "$d"
	case $1 in
	ejabberd)
		sed "s#@DATA@#$d#g" "$HERE/ejabberd.yml" >"$d/ejabberd.yml"
		cert "$d"
		chown -R ejabberd: "$d" ;;
	prosody)
		sed "s#@DATA@#$d#g" "$HERE/prosody.cfg.lua" >"$d/prosody.cfg.lua"
		mkdir -p "$d/certs"
		cert "$d"
		chown -R prosody: "$d" ;;
	parley)
		sed "s#@DATA@#$d#g" "$HERE/parley.yaml" >"$d/parley.yaml" ;;
	esac
}

# ejctl runs ejabberdctl as the ejabberd user with the benchmark's node,
# its control settings and an Erlang cookie in the data directory.
ejctl() {
	HOME=$WORK/ejabberd setpriv --reuid=ejabberd --regid=ejabberd --init-groups \
		ejabberdctl --ctl-config "$HERE/ejabberdctl.cfg" --node ejbench@localhost "$@"
}

start() { # server
	local d=$WORK/$1
	case $1 in
	ejabberd)
		(cd "$d" && ejctl --config "$d/ejabberd.yml" --spool "$d" --logs "$d" \
			foreground >>"$d/stdout.log" 2>&1 &)
		wait_port 15222
		PID[ejabberd]=$(pgrep -f 'beam.smp.*ejbench@localhost' | head -1) ;;
	prosody)
		(cd "$d" && setpriv --reuid=prosody --regid=prosody --init-groups \
			prosody -F --config "$d/prosody.cfg.lua" >>"$d/stdout.log" 2>&1 &)
		wait_port 25222
		PID[prosody]=$(pgrep -f "prosody -F --config $d/" | head -1) ;;
	parley)
		(cd "$d" && exec "$PARLEY" serve --config "$d/parley.yaml" >>"$d/stdout.log" 2>&1 &)
		wait_port 31222
		PID[parley]=$(pgrep -f "$PARLEY serve --config $d/" | head -1) ;;
	esac
	log "$1 started, pid ${PID[$1]}"
}

stop() { # server
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	case $1 in
	ejabberd) ejctl stop >/dev/null 2>&1 || kill "$p" ;;
	*) kill "$p" 2>/dev/null || true ;;
	esac
	for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null || true
	PID[$1]=""
}

cleanup() {
	for s in $SERVERS; do stop "$s"; done
}
trap cleanup EXIT

versions() {
	{
		echo "== parley"; "$PARLEY" version
		(cd "$ROOT" && git rev-parse HEAD && git status --short | head -20) 2>/dev/null || true
		echo "== ejabberd"; ejctl status 2>&1 || true
		dpkg-query -W ejabberd erlang-base 2>/dev/null || true
		echo "== prosody"; prosodyctl --config "$WORK/prosody/prosody.cfg.lua" about 2>/dev/null | sed -n '1p;/^# Lua/,/^$/p;/^# Network/,/^$/p' || true
		echo "== machine"; nproc; uname -r; go version
	} >"$OUT/versions.txt" 2>&1
}

wait_load() {
	local waited=0 load
	while :; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		if awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN{exit !(l < m)}'; then break; fi
		if [ "$waited" -ge "$WAIT_LOAD" ]; then
			log "load still $load after ${waited}s; going on"
			break
		fi
		log "load $load >= $MAX_LOAD, waiting"
		sleep 30
		waited=$((waited + 30))
	done
	echo "$load"
}

bench() { # server row [extra args...]
	local s=$1 row=$2
	shift 2
	# shellcheck disable=SC2086
	"$PARLEY" bench --host 127.0.0.1 --port "${PORT[$s]}" --domain localhost \
		--pid "${PID[$s]}" --json --progress 5s ${ROW[$row]} "$@" 2>>"$OUT/$s.stderr" \
		| jq -c --arg s "$s" --arg r "$row" --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson rep "${REP:-1}" \
			'. + {addr: .server, server: $s, row: $r, load: $l, rep: $rep}' >>"$RESULTS" || true
}

for s in $SERVERS; do prepare "$s"; start "$s"; done
versions
log "registering $ACCOUNTS accounts on each server"
for s in $SERVERS; do
	"$PARLEY" bench --host 127.0.0.1 --port "${PORT[$s]}" --domain localhost --clients "$ACCOUNTS" \
		--tls none --mech SCRAM-SHA-1 --duration 0 --concurrency 100 --progress 10s --json \
		2>>"$OUT/$s.stderr" | jq -c --arg s "$s" '. + {addr: .server, server: $s, row: "setup"}' >>"$RESULTS" || true
done

log "load before the rows: $(wait_load)"
i=0
for REP in $(seq 1 "$REPEAT"); do
	for row in "${ROWS[@]}"; do
		# Rotate the order of the servers from row to row.
		read -r -a order <<<"$SERVERS"
		n=${#order[@]}
		for k in $(seq 0 $((n - 1))); do
			s=${order[$(((k + i) % n))]}
			case $row in mem*) stop "$s"; start "$s" ;; esac
			log "row $row, run $REP of $REPEAT: $s (load $(cut -d' ' -f1 /proc/loadavg))"
			echo "parley bench --port ${PORT[$s]} --pid ${PID[$s]} ${ROW[$row]}" >>"$OUT/commands.txt"
			bench "$s" "$row"
		done
		i=$((i + 1))
	done
done

# The table.
{
	echo "| row | server | sessions | logins/s | KiB/session | delivered msg/s | p50 ms | p90 ms | p99 ms | max ms | errors | lost | load |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	jq -r 'def r2: (. * 100 | round) / 100;
		select(.row != "setup") | "| \(.row) | \(.server) | \(.logged_in) | \(.login_rate|floor) | \(if .row|startswith("mem") then (.mem_per_session_kib*10|round/10) else "" end) | \(if .sent > 0 then (.delivered_per_sec|floor) else "" end) | \(if .sent > 0 then (.latency.p50_ms|r2) else "" end) | \(if .sent > 0 then (.latency.p90_ms|r2) else "" end) | \(if .sent > 0 then (.latency.p99_ms|r2) else "" end) | \(if .sent > 0 then (.latency.max_ms|r2) else "" end) | \(.errors) | \(.lost) | \(.load) |"' "$RESULTS"
	if [ "$REPEAT" -gt 1 ]; then
		echo
		echo "Medians of $REPEAT runs:"
		echo
		echo "| row | server | runs | logins/s | KiB/session | delivered msg/s | p50 ms | p90 ms | p99 ms | lost |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		jq -rs 'def r2: (. * 100 | round) / 100;
			def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
			map(select(.row != "setup")) | group_by([.row, .server])[] |
			"| \(.[0].row) | \(.[0].server) | \(length) | \(map(.login_rate) | med | floor) | \(if .[0].row|startswith("mem") then (map(.mem_per_session_kib) | med * 10 | round / 10) else "" end) | \(if .[0].sent > 0 then (map(.delivered_per_sec) | med | floor) else "" end) | \(if .[0].sent > 0 then (map(.latency.p50_ms) | med | r2) else "" end) | \(if .[0].sent > 0 then (map(.latency.p90_ms) | med | r2) else "" end) | \(if .[0].sent > 0 then (map(.latency.p99_ms) | med | r2) else "" end) | \(map(.lost) | add) |"' "$RESULTS"
	fi
} | tee "$OUT/table.md"
log "results in $OUT"
