#!/usr/bin/env bash
# Window measurements for BENCHMARKS.md, on the release build, under Xvfb inside the client
# namespace (never the root namespace): cold start to first frame, peak memory with 10,000
# rows, idle CPU against the real gateway, binary size. Run as root:
#   tests/real-gateway/bench-window.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=$HERE/gateway.sh
BIN=$ROOT/target/release/portforward
DISPLAY_NUM=:97
cd "$ROOT"
cargo build --release --bin portforward >&2
"$HARNESS" up --igd 2 >/dev/null
Xvfb $DISPLAY_NUM -screen 0 1280x800x24 >/dev/null 2>&1 &
XVFB=$!
cleanup() { kill "$XVFB" 2>/dev/null || true; "$HARNESS" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
export DISPLAY=$DISPLAY_NUM
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done
inlan() { ip netns exec pfw-lan1 env DISPLAY=$DISPLAY_NUM XDG_DATA_HOME=/tmp/pfw-bench-data XDG_CONFIG_HOME=/tmp/pfw-bench-config "$@"; }
wait_window() { xdotool search --sync --onlyvisible --name "$1" >/dev/null; }
# Until no window of ours is left (a killed window may linger for a moment).
wait_gone() { for _ in $(seq 100); do xdotool search --name PortForward >/dev/null 2>&1 || return 0; sleep 0.05; done; }
app_pid() { pgrep -n -f "^$BIN $1"; }

echo "binary: $(stat -c %s "$BIN") bytes ($(du -h "$BIN" | cut -f1)) stripped release"

# Cold start to first frame: exec until the window is mapped (egui maps it with its first frame).
starts=()
for _ in 1 2 3 4 5; do
    t0=$(date +%s%N)
    inlan "$BIN" --demo >/dev/null 2>&1 &
    pid=$!
    wait_window "PortForward"
    t1=$(date +%s%N)
    starts+=($(( (t1 - t0) / 1000000 )))
    kill "$pid"; wait "$pid" 2>/dev/null || true
    wait_gone
done
echo "cold start to first frame (ms, 5 runs): ${starts[*]}"

# Peak memory with 10,000 rows: load, scroll, sort, then close.
inlan "$BIN" --demo --demo-rows 10000 >/dev/null 2>&1 &
pid=$!
wait_window "PortForward"
sleep 3   # the table loads on a worker; give it time to arrive before scrolling
wid=$(xdotool search --onlyvisible --name PortForward | head -n1)
xdotool mousemove --window "$wid" 700 400
for _ in $(seq 20); do xdotool click 5; done
xdotool key --window "$wid" F5
sleep 2
rss=$(awk '/VmHWM/ {print $2}' /proc/"$(app_pid --demo)"/status)
kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
wait_gone
echo "peak RSS with 10,000 rows: $rss KiB"

# Idle CPU against the real gateway (no finite lease visible: nothing changes, nothing repaints).
inlan "$BIN" --gateway http://192.168.77.1:49000/rootDesc.xml >/dev/null 2>&1 &
pid=$!
wait_window "PortForward"
sleep 3
child=$(app_pid --gateway)
a=$(awk '{print $14+$15}' /proc/"$child"/stat)
sleep 10
b=$(awk '{print $14+$15}' /proc/"$child"/stat)
echo "idle CPU over 10 s: $((b - a)) ticks ($(( (b - a) * 100 / (10 * $(getconf CLK_TCK)) ))% of a core)"
kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
