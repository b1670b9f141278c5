#!/usr/bin/env bash
# Runs every cargo-fuzz target of PortForward's parsers for SECONDS each (default 60),
# starting from the committed seeds (fuzz/seeds/<target>) and past crashes
# (fuzz/regressions/<target>), growing fuzz/corpus/<target> (git-ignored) as it goes.
#
#   fuzz/run.sh [SECONDS]
#
# Prints one line per target: executions, time, and whether it crashed (a panic, a hang
# over 1 s on one input, RSS over 512 MB or one allocation over 128 MB). Exits 1 if any
# target crashed (the input is in fuzz/artifacts/<target>/), 2 if the build failed.
#
# Needs `cargo install cargo-fuzz`. cargo-fuzz passes nightly-only flags (-Zsanitizer=...,
# -Cpasses=sancov-module, ...); this machine has only a stable toolchain, which accepts
# them with RUSTC_BOOTSTRAP=1, so the script sets it (by hand:
# `RUSTC_BOOTSTRAP=1 cargo fuzz run ssdp_answer -- -max_total_time=60`). AddressSanitizer,
# cargo-fuzz's default, works that way, and is what makes -malloc_limit_mb work (libFuzzer's
# malloc hooks come from the sanitizer runtime). FUZZ_SANITIZER=none works too, about 3x
# the executions per second, but without the allocation limit (the RSS limit still applies).
# Both builds share fuzz/target: switching rebuilds everything (6-15 min on 2 cores).
#
# Environment: FUZZ_TARGETS="a b" runs only those; FUZZ_SANITIZER (default address).
# The first build compiles the whole dependency tree instrumented.
#
# Seeds are the simulator's miniupnpd-like documents (src/simulator) and a few hand-made
# router variants; the unit test fuzzing::tests checks the realistic ones are accepted.
# After a crash: fix the parser, copy the input to fuzz/regressions/<target>/ (replayed by
# this script and by fuzzing::tests) and add a #[test] with it next to the parser.
set -uo pipefail

SECONDS_EACH=${1:-60}
case $SECONDS_EACH in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")"
export RUSTC_BOOTSTRAP=1
SANITIZER=${FUZZ_SANITIZER:-address}
read -r -a TARGETS <<<"${FUZZ_TARGETS:-ssdp_answer device_description soap_reply port_listing}"

# The longest input each target gets: the SSDP socket reads 2048 bytes; documents may be
# longer than libFuzzer's default 4096 (the HTTP layer reads up to 4 MiB).
max_len() {
    case $1 in
        ssdp_answer) echo 2048 ;;
        *) echo 65536 ;;
    esac
}

LOGS=target/run-logs
mkdir -p "$LOGS"
echo "fuzz: building the targets (sanitizer $SANITIZER; log: fuzz/$LOGS/build.log)" >&2
if ! cargo fuzz build --sanitizer "$SANITIZER" >"$LOGS/build.log" 2>&1; then
    tail -n 20 "$LOGS/build.log" >&2
    echo "fuzz: build failed" >&2
    exit 2
fi
CRASHED=0
SUMMARY=()
for target in "${TARGETS[@]}"; do
    mkdir -p "corpus/$target"
    inputs=("corpus/$target" "seeds/$target")
    [ -d "regressions/$target" ] && inputs+=("regressions/$target")
    log=$LOGS/$target.log
    start=$(date +%s)
    echo "fuzz: $target for ${SECONDS_EACH}s (log: fuzz/$log)" >&2
    rc=0
    cargo fuzz run --sanitizer "$SANITIZER" "$target" "${inputs[@]}" -- \
        -max_total_time="$SECONDS_EACH" -timeout=1 -rss_limit_mb=512 -malloc_limit_mb=128 \
        -max_len="$(max_len "$target")" -print_final_stats=1 >"$log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    # Without final stats (a crash), the last status line "#N ..." has the count.
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/^Test unit written to //')
    if [ "$rc" -ne 0 ] || [ -n "$artifact" ]; then
        CRASHED=1
        reason=$(grep -m1 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|ALARM' "$log" || echo "exit $rc")
        line="$target: ${execs:-?} executions in ${elapsed}s, CRASH: $reason; input: ${artifact:-see the log}"
    else
        line="$target: ${execs:-?} executions in ${elapsed}s, no crash"
    fi
    echo "$line" >&2
    SUMMARY+=("$line")
done

echo
echo "==================== fuzz summary (${SECONDS_EACH}s per target, sanitizer $SANITIZER)"
printf '%s\n' "${SUMMARY[@]}"
exit "$CRASHED"
