#!/usr/bin/env bash
# Runs the real-gateway test suite (integration test target `real_gateway`, tests/real_gateway.rs,
# whose tests are #[ignore]d) against a real miniupnpd in network namespaces, once per gateway
# configuration. Run as root from anywhere:
#
#   tests/real-gateway/run-suite.sh [--only NAME[,NAME...]] [-- EXTRA LIBTEST ARGS]
#
# Configurations (NAME: gateway.sh up options):
#   iptables-igd2-open    --flavor iptables --igd 2 --secure no
#   iptables-igd1-open    --flavor iptables --igd 1 --secure no
#   iptables-igd2-secure  --flavor iptables --igd 2 --secure yes
#   nftables-igd2-open    --flavor nftables --igd 2 --secure no
#   iptables-igd2-cgnat   --flavor iptables --igd 2 --cgnat
#   iptables-igd2-ipv6    --flavor iptables --igd 2 --secure no --ipv6   (IPv6 pinholes)
#   iptables-igd1-ipv6    --flavor iptables --igd 1 --secure no --ipv6   (no UPnP pinholes: PCP)
#
# The test binary runs inside pfw-lan1 with PFW_GATEWAY_URL, PFW_CONFIG, PFW_IGD, PFW_SECURE,
# PFW_CGNAT, PFW_HARNESS, PFW_LAN2_IP, PFW_CLI (plus PFW_FLAVOR, PFW_NATPMP, PFW_LAN1_IP,
# PFW_LAN_GW, PFW_IPV6) set, as `BIN --ignored --test-threads=1`.
#
# Environment knobs:
#   PFW_SUITE_CRATE    crate to build (default: the repo root); lets the runner be checked
#                      against a throwaway crate with the same target names
#   PFW_SUITE_TIMEOUT  seconds allowed per configuration (default 600)
#
# The last line printed is `real-gateway: N passed, M failed`. Exit status is non-zero when any
# test failed, a configuration could not be brought up, or no test ran at all.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARNESS=$HERE/gateway.sh
CRATE=${PFW_SUITE_CRATE:-$(cd "$HERE/../.." && pwd)}
TIMEOUT=${PFW_SUITE_TIMEOUT:-600}

CONFIGS=(
    "iptables-igd2-open|--flavor iptables --igd 2 --secure no"
    "iptables-igd1-open|--flavor iptables --igd 1 --secure no"
    "iptables-igd2-secure|--flavor iptables --igd 2 --secure yes"
    "nftables-igd2-open|--flavor nftables --igd 2 --secure no"
    "iptables-igd2-cgnat|--flavor iptables --igd 2 --secure no --cgnat"
    "iptables-igd2-ipv6|--flavor iptables --igd 2 --secure no --ipv6"
    "iptables-igd1-ipv6|--flavor iptables --igd 1 --secure no --ipv6"
)

say() { printf 'run-suite: %s\n' "$*" >&2; }

ONLY=""
EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --only) ONLY=${2:?}; shift 2 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) say "unknown argument $1"; exit 2 ;;
    esac
done

[ "$(id -u)" -eq 0 ] || { say "must run as root (network namespaces)"; exit 2; }

cleanup() { "$HARNESS" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ build
command -v jq >/dev/null || command -v python3 >/dev/null \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >&2

json_field() { # filter-kind: test|bin ; reads cargo JSON on stdin
    if command -v jq >/dev/null; then
        if [ "$1" = test ]; then
            jq -r 'select(.reason == "compiler-artifact" and .target.name == "real_gateway"
                          and .profile.test == true) | .executable // empty'
        elif [ "$1" = window ]; then
            jq -r 'select(.reason == "compiler-artifact" and .target.name == "portforward"
                          and (.target.kind | index("bin")) and .profile.test == true) | .executable // empty'
        else
            jq -r 'select(.reason == "compiler-artifact" and .target.name == "portforward"
                          and (.target.kind | index("bin")) and .profile.test == false) | .executable // empty'
        fi
    else
        python3 -c '
import json, sys
kind = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    t = m["target"]
    if kind == "test" and t["name"] == "real_gateway" and m["profile"]["test"]:
        print(m["executable"])
    if kind == "window" and t["name"] == "portforward" and "bin" in t["kind"] and m["profile"]["test"]:
        print(m["executable"])
    if kind == "bin" and t["name"] == "portforward" and "bin" in t["kind"] and not m["profile"]["test"]:
        print(m["executable"])
' "$1"
    fi
}

LOGDIR=$CRATE/target/real-gateway
mkdir -p "$LOGDIR"
say "building the real_gateway test target in $CRATE"
BUILD_OK=yes
(cd "$CRATE" && cargo test --test real_gateway --bin portforward --no-run --message-format=json) \
    >"$LOGDIR/build.json" || BUILD_OK=no
BIN=$(json_field test <"$LOGDIR/build.json" | tail -n 1)
# The window's own real-gateway tests (kittest, headless) live in the binary's test target.
WINDOW_BIN=$(json_field window <"$LOGDIR/build.json" | tail -n 1)
CLI=$(json_field bin <"$LOGDIR/build.json" | tail -n 1)
if [ -z "$CLI" ]; then
    CLI=$( (cd "$CRATE" && cargo metadata --format-version 1 --no-deps 2>/dev/null) \
        | { jq -r .target_directory 2>/dev/null || true; } )/debug/portforward
fi
if [ "$BUILD_OK" != yes ] || [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    say "could not build the real_gateway test binary (does tests/real_gateway.rs exist?)"
    echo "real-gateway: build failed"
    echo "real-gateway: 0 passed, 1 failed"
    exit 1
fi
say "test binary: $BIN"
say "cli: $CLI"

# ------------------------------------------------------------------ matrix
TOTAL_P=0
TOTAL_F=0
RESULTS=()
for entry in "${CONFIGS[@]}"; do
    name=${entry%%|*}
    opts=${entry#*|}
    if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then continue; fi
    # shellcheck disable=SC2086
    set -- $opts
    igd=2 secure=no cgnat=no flavor=iptables ipv6=no
    while [ $# -gt 0 ]; do
        case $1 in
            --igd) igd=$2; shift 2 ;;
            --secure) secure=$2; shift 2 ;;
            --flavor) flavor=$2; shift 2 ;;
            --cgnat) cgnat=yes; shift ;;
            --ipv6) ipv6=yes; shift ;;
            *) shift ;;
        esac
    done

    log=$LOGDIR/$name.log
    say "=== $name: gateway.sh up $opts"
    # shellcheck disable=SC2086
    if ! url=$("$HARNESS" up $opts 2>"$LOGDIR/$name.up.log" | tail -n 1) || [ -z "$url" ]; then
        cat "$LOGDIR/$name.up.log" >&2
        RESULTS+=("config $name: gateway did not come up (0 passed, 1 failed)")
        TOTAL_F=$((TOTAL_F + 1))
        continue
    fi
    start=$(date +%s)
    in_lan1() { # test binary, then its arguments
        (cd "$CRATE" && timeout --kill-after=10 "$TIMEOUT" ip netns exec pfw-lan1 env \
            PFW_GATEWAY_URL="$url" \
            PFW_CONFIG="$name" \
            PFW_IGD="$igd" \
            PFW_SECURE="$secure" \
            PFW_CGNAT="$cgnat" \
            PFW_FLAVOR="$flavor" \
            PFW_NATPMP=yes \
            PFW_IPV6="$ipv6" \
            PFW_HARNESS="$HARNESS" \
            PFW_LAN1_IP=192.168.77.10 \
            PFW_LAN2_IP=192.168.77.11 \
            PFW_LAN_GW=192.168.77.1 \
            PFW_CLI="$CLI" \
            CARGO_MANIFEST_DIR="$CRATE" \
            RUST_BACKTRACE=1 \
            "$@") 2>&1 </dev/null
    }
    set +e
    in_lan1 "$BIN" --ignored --test-threads=1 "${EXTRA[@]}" | tee "$log"
    rc=${PIPESTATUS[0]}
    # The window's tests (headless): only those named real_gateway_window (the binary's
    # other ignored test is a benchmark), narrowed further by a filter given.
    if [ -n "$WINDOW_BIN" ]; then
        window_filter=(real_gateway_window)
        [ ${#EXTRA[@]} -eq 0 ] || window_filter=("${EXTRA[@]}")
        in_lan1 "$WINDOW_BIN" --ignored --test-threads=1 "${window_filter[@]}" | tee -a "$log"
        wrc=${PIPESTATUS[0]}
        [ "$wrc" -eq 0 ] || rc=$wrc
    fi
    set -e
    secs=$(($(date +%s) - start))
    line=$(grep -E '^test result: ' "$log" | tail -n 1 || true)
    p=0 f=0
    while read -r result; do
        rp=$(sed -nE 's/.* ([0-9]+) passed;.*/\1/p' <<<"$result")
        rf=$(sed -nE 's/.* ([0-9]+) failed;.*/\1/p' <<<"$result")
        p=$((p + ${rp:-0})) f=$((f + ${rf:-0}))
    done < <(grep -E '^test result: ' "$log" || true)
    note=""
    if [ -z "$line" ]; then
        note=" no test result line (exit $rc: crashed or timed out after ${TIMEOUT}s)"
        f=$((f + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        note=" exit status $rc"
        f=1
    fi
    TOTAL_P=$((TOTAL_P + p))
    TOTAL_F=$((TOTAL_F + f))
    status=ok
    [ "$f" -eq 0 ] || status=FAILED
    RESULTS+=("config $name: $status ($p passed, $f failed) in ${secs}s$note")
    "$HARNESS" down >/dev/null 2>&1 || true
done

cleanup
echo
for r in "${RESULTS[@]}"; do echo "$r"; done
rc=0
if [ $((TOTAL_P + TOTAL_F)) -eq 0 ]; then
    say "no test ran"
    rc=1
fi
[ "$TOTAL_F" -eq 0 ] || rc=1
echo "real-gateway: $TOTAL_P passed, $TOTAL_F failed"
exit "$rc"
