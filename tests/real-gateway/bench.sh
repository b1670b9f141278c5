#!/usr/bin/env bash
# Gateway benchmark: PortForward against upnpc on a real miniupnpd in network namespaces,
# same gateway, same table, same run. Run as root:
#
#   tests/real-gateway/bench.sh [--short]
#
# Builds the release CLI (the full app, and the command-line-only build) and the bench binary
# (benches/gateway.rs), then for each gateway configuration brings the gateway up, runs the
# bench inside pfw-lan1 and tears it down.
# Prints a table of medians and ratios (ours / reference: below 1 means faster) and keeps
# the raw JSON lines in target/bench/results.jsonl. Nothing fails on a time.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=$HERE/gateway.sh
SHORT=no
[ "${1:-}" = --short ] && SHORT=yes
cd "$ROOT"
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (network namespaces)" >&2; exit 2; }
trap '"$HARNESS" down >/dev/null 2>&1 || true' EXIT

# The command-line-only build first (it lands in the same path), kept aside, then the full one.
mkdir -p target/bench
cargo build --release --no-default-features --bin portforward >&2
cp target/release/portforward target/bench/portforward-cli-only
cargo build --release --bin portforward >&2
BENCH=$(cargo bench --bench gateway --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="gateway" and m.get("executable"): print(m["executable"])' | tail -n1)
CLI=$ROOT/target/release/portforward
OUT=$ROOT/target/bench
mkdir -p "$OUT"
: >"$OUT/results.jsonl"

if [ $SHORT = yes ]; then
    CONFIGS=("nftables-igd2|--flavor nftables --igd 2|10,100||2" "iptables-igd2|--flavor iptables --igd 2|10,100|100|2"
             "iptables-igd1|--flavor iptables --igd 1|10,100||1")
    REPS=3
else
    CONFIGS=("nftables-igd2|--flavor nftables --igd 2|10,100||2" "iptables-igd2|--flavor iptables --igd 2|10,100,500,2000|500|2"
             "iptables-igd1|--flavor iptables --igd 1|10,100,500||1")
    REPS=7
fi
for entry in "${CONFIGS[@]}"; do
    IFS='|' read -r name opts sizes disable igd <<<"$entry"
    echo "bench: $name" >&2
    # shellcheck disable=SC2086
    url=$("$HARNESS" up $opts | tail -n1)
    ip netns exec pfw-lan1 "$BENCH" --url "$url" --config "$name" --cli "$CLI" \
        --cli-only "$ROOT/target/bench/portforward-cli-only" --igd "$igd" --sizes "$sizes" \
        --disable-all "$disable" --reps "$REPS" | tee -a "$OUT/results.jsonl" >&2
    "$HARNESS" down >/dev/null 2>&1
done

python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| gateway | what | mappings | PortForward (ms) | reference | reference (ms) | ratio |")
print("|---|---|---:|---:|---|---:|---:|")
for r in rows:
    print(f"| {r['config']} | {r['what']} | {r['n'] or ''} | {r['ours_ms']:.1f} | {r['reference']} | {r['reference_ms']:.1f} | {r['ratio']:.2f} |")
PY
