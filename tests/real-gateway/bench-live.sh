#!/usr/bin/env bash
# Live-window measurements for BENCHMARKS.md: the release window under Xvfb inside the client
# namespace (never the root one: discovery sends multicast), against the real gateway holding
# 100 mappings. Each figure beside a reference measured in the same run:
#   launch -> 100-row table shown, discovery included   vs  `portforward list` (discovery included)
#   another host's mapping -> shown in the window        vs  one reading: `portforward list --gateway URL`
#   idle with nothing changing: CPU ticks and table readings over 20 s
# Times come from the window's log file (RFC 3339, milliseconds). Run as root:
#   tests/real-gateway/bench-live.sh [RUNS]     (default 7; medians printed)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=$HERE/gateway.sh
RUNS=${1:-7}
BIN=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/portforward
DISPLAY_NUM=:96
DATA=/tmp/pfw-bench-live-data
LOG=$DATA/portforward/portforward.log
cd "$ROOT"
cargo build --release --bin portforward >&2
url=$("$HARNESS" up --igd 2 | tail -n 1)
inlan() { ip netns exec pfw-lan1 env DISPLAY=$DISPLAY_NUM XDG_DATA_HOME=$DATA XDG_CONFIG_HOME=/tmp/pfw-bench-live-config "$@"; }
inlan Xvfb $DISPLAY_NUM -nolisten tcp -screen 0 1280x800x24 >/dev/null 2>&1 &
XVFB=$!
WINDOW=""
cleanup() {
    [ -z "$WINDOW" ] || kill "$WINDOW" 2>/dev/null || true
    kill "$XVFB" 2>/dev/null || true
    "$HARNESS" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
# Waits (at most 20 s) for a log line ending in $1; prints its time in ms since the epoch.
log_time() {
    local deadline=$(( $(now_ms) + 20000 )) line
    while [ "$(now_ms)" -lt "$deadline" ]; do
        line=$(grep -m1 -E " $1\$" "$LOG" 2>/dev/null || true)
        if [ -n "$line" ]; then date -d "${line%% *}" +%s%3N; return 0; fi
        sleep 0.01
    done
    echo "bench-live: no log line '$1' within 20 s" >&2
    return 1
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 100 mappings to lan1, made by our own import (one process).
csv=/tmp/pfw-bench-live.csv
echo "external_port,internal_port,internal_ip,protocol,description,duration" >"$csv"
for p in $(seq 20000 20099); do echo "$p,$p,192.168.77.10,TCP,bench $p,0" >>"$csv"; done
inlan "$BIN" --gateway "$url" import "$csv" --yes >/dev/null
for _ in $(seq 100); do [ -S /tmp/.X11-unix/X${DISPLAY_NUM#:} ] && break; sleep 0.05; done

launch=() cli=() change=() reading=()
for run in $(seq "$RUNS"); do
    rm -rf "$DATA"
    t0=$(now_ms)
    inlan "$BIN" >/dev/null 2>&1 &
    WINDOW=$!
    t1=$(log_time "ok: read 100 mappings")
    launch+=($((t1 - t0)))
    log_time "ok: live: the router's events keep the table current" >/dev/null
    port=$((30000 + run))
    t0=$(now_ms)
    "$HARNESS" exec lan2 upnpc -u "$url" -e "bench change" -a 192.168.77.11 $port $port TCP >/dev/null
    t1=$(log_time "ok: read 101 mappings")
    change+=($((t1 - t0)))
    "$HARNESS" exec lan2 upnpc -u "$url" -d $port TCP >/dev/null
    log_time "ok: read 100 mappings" >/dev/null
    kill "$WINDOW"; wait "$WINDOW" 2>/dev/null || true; WINDOW=""
    # References, same table, same moment.
    t0=$(now_ms); inlan "$BIN" list >/dev/null; t1=$(now_ms); cli+=($((t1 - t0)))
    t0=$(now_ms); inlan "$BIN" --gateway "$url" list >/dev/null; t1=$(now_ms); reading+=($((t1 - t0)))
done

# Idle: a live window, nothing changing.
rm -rf "$DATA"
inlan "$BIN" >/dev/null 2>&1 &
WINDOW=$!
log_time "ok: live: the router's events keep the table current" >/dev/null
# Discovery listens out its 3 s (a spinner turns meanwhile): idle starts once it is done.
log_time "ok: discovery found 1 gateway" >/dev/null
sleep 1
pid=$(pgrep -n -f "^$BIN\$")
reads_before=$(grep -c "request: reading the table" "$LOG")
a=$(awk '{print $14+$15}' /proc/"$pid"/stat)
sleep 20
b=$(awk '{print $14+$15}' /proc/"$pid"/stat)
reads_after=$(grep -c "request: reading the table" "$LOG")
kill "$WINDOW"; wait "$WINDOW" 2>/dev/null || true; WINDOW=""

m_launch=$(echo "${launch[*]}" | median) m_cli=$(echo "${cli[*]}" | median)
m_change=$(echo "${change[*]}" | median) m_reading=$(echo "${reading[*]}" | median)
echo "launch -> 100-row table (ms, $RUNS runs): ${launch[*]}; median $m_launch"
echo "reference portforward list with discovery (ms): ${cli[*]}; median $m_cli"
echo "ratio launch/list: $(python3 -c "print(f'{$m_launch / $m_cli:.2f}')")"
echo "lan2 change -> shown (ms): ${change[*]}; median $m_change"
echo "reference one reading, portforward list --gateway (ms): ${reading[*]}; median $m_reading"
echo "ratio change/reading: $(python3 -c "print(f'{$m_change / $m_reading:.2f}')")"
echo "idle 20 s: $((b - a)) CPU ticks of $((20 * $(getconf CLK_TCK))) ($(( (b - a) * 100 / (20 * $(getconf CLK_TCK)) ))% of a core), $((reads_after - reads_before)) table readings"
