#!/usr/bin/env bash
# Builds the coverage-guided fuzz targets in fuzz/ and runs each for a bounded time, failing on
# any crash (the input is left in fuzz/artifacts/<target>/). See fuzz/README.md.
#
#   scripts/fuzz.sh                      # every target, 20 s each
#   FUZZ_SECS=600 scripts/fuzz.sh names  # one target, longer
#
# Works on the stable toolchain: libFuzzer's coverage instrumentation is plain codegen flags
# (`-Cpasses=sancov-module` and LLVM options), so neither nightly nor cargo-fuzz is needed.
# Sanitizers (ASan) would need nightly; the code under test forbids `unsafe`, so they add little.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
secs="${FUZZ_SECS:-20}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client_frame request_bodies image_header names search_query ogg_opus)
host="$(rustc -vV | sed -n 's/^host: //p')"
# A directory of its own: the instrumented build must not churn the main build's artifacts.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/fuzz}"
# `--target` keeps the flags off build scripts and proc macros, which must not be instrumented.
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"

echo "fuzz: building ${targets[*]}"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --locked --release --target "$host" "${bins[@]}"

failed=()
for t in "${targets[@]}"; do
    work="$(mktemp -d)"
    mkdir -p "artifacts/$t" "regressions/$t"
    echo "fuzz: $t for ${secs}s"
    # New inputs go to a scratch directory; the seed corpus and the regressions are only read.
    if ! "$CARGO_TARGET_DIR/$host/release/$t" "$work" "corpus/$t" "regressions/$t" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" 2>"$work.log"; then
        tail -n 40 "$work.log" >&2
        failed+=("$t")
    else
        grep -E "stat::number_of_executed_runs|Done" "$work.log" | tr '\n' ' '; echo
    fi
    rm -rf "$work" "$work.log"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} — inputs in fuzz/artifacts/; once fixed, copy each into" \
        "fuzz/regressions/<target>/ so cargo test replays it" >&2
    exit 1
fi
echo "fuzz: no crashes"
