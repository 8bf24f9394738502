#!/usr/bin/env bash
# Runs each fuzz target for FUZZ_SECONDS (default 60). cargo-fuzz needs nightly features; the
# one stable toolchain here enables them with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
for target in $(cargo fuzz list); do
    echo "== fuzz $target"
    # Replay targets start from the recorded corpus: random bytes rarely form a valid meta record.
    seeds=()
    case "$target" in replay_*) seeds=("corpus/$target" ../replays/corpus ../replays/tests/golden); mkdir -p "corpus/$target" ;; esac
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "${seeds[@]}" -- -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=2048
done
