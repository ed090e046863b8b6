#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 300), one after another (one core), then
# minimizes each corpus. Prints each run's final libFuzzer line (executions, coverage, corpus).
#   fuzz/run.sh [SECONDS] [TARGET...]
# Needs: rustup's nightly toolchain, `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-300}"; shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then mapfile -t TARGETS < <(cargo +nightly fuzz list); fi
FLAGS=(-s none -a)
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then FLAGS+=(--target-dir "$CARGO_TARGET_DIR/fuzz"); fi
LOGS="$(mktemp -d)"
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  # -timeout: an input taking more than 10 s counts as a hang (a crash).
  cargo +nightly fuzz run "${FLAGS[@]}" "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 > "$LOGS/$t.log" 2>&1 || {
    echo "$t: CRASH (see $LOGS/$t.log and artifacts/$t/)"; tail -30 "$LOGS/$t.log"; continue; }
  before=$(ls "corpus/$t" | wc -l)
  cargo +nightly fuzz cmin "${FLAGS[@]}" "$t" "corpus/$t" > "$LOGS/$t.cmin.log" 2>&1
  after=$(ls "corpus/$t" | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log")
  last=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$LOGS/$t.log" | tail -1 || true)
  echo "$t: ${SECONDS_EACH}s, $execs executions; $last; corpus $before -> $after files after cmin ($(du -sh --apparent-size "corpus/$t" | cut -f1))"
done
