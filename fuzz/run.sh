#!/usr/bin/env bash
# Bounded fuzz smoke run: installs what is missing (nightly, cargo-fuzz), builds every target
# once, runs each for FUZZ_SECONDS (default 60) from the checked-in seeds, and prints the
# executions per target. Exits non-zero if any target finds a crash; the input is kept under
# fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <file>).
#
#   fuzz/run.sh                                   # every target, 60 s each, AddressSanitizer
#   FUZZ_SECONDS=20 fuzz/run.sh                   # shorter (the CI smoke run)
#   FUZZ_TARGETS="validate_raw jwks_parse" fuzz/run.sh
#   FUZZ_SANITIZER=none fuzz/run.sh               # no ASan (faster; for when ASan will not build)
#   FUZZ_TOOLCHAIN=nightly-2026-05-20 fuzz/run.sh # a pinned nightly (default: nightly)
#
# New corpus entries go to fuzz/target/fuzz-corpus/<target>/ (kept between local runs, never
# checked in); fuzz/corpus/<target>/ holds only the seeds.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SANITIZER=${FUZZ_SANITIZER:-address}
FUZZ_TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
ALL_TARGETS="validate_raw validate_structured jwks_parse jwks_structured www_authenticate base64_strict"
FUZZ_TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}

start=$(date +%s)
echo "== toolchain"
if ! rustup run "$FUZZ_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$FUZZ_TOOLCHAIN" --profile minimal
fi
rustup run "$FUZZ_TOOLCHAIN" rustc --version
if ! cargo "+$FUZZ_TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo "+$FUZZ_TOOLCHAIN" fuzz --version

echo "== build (sanitizer: $FUZZ_SANITIZER)"
cargo "+$FUZZ_TOOLCHAIN" fuzz build --sanitizer "$FUZZ_SANITIZER"
built=$(date +%s)
echo "build: $((built - start)) s (including any install)"

failed=()
summary=()
for target in $FUZZ_TARGETS; do
  echo "== fuzz $target for ${FUZZ_SECONDS} s"
  work="target/fuzz-corpus/$target"
  log="target/fuzz-logs/$target.log"
  mkdir -p "$work" "$(dirname "$log")"
  status=0
  cargo "+$FUZZ_TOOLCHAIN" fuzz run --sanitizer "$FUZZ_SANITIZER" "$target" "$work" "corpus/$target" -- \
    -max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -Eo '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 | grep -Eo 'cov: [0-9]+ ft: [0-9]+' || true)
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    echo "!! $target FAILED (exit $status); from $log:"
    grep -E -A3 'panicked at|==ERROR|^SUMMARY|Test unit written|^Base64:|error(\[E[0-9]+\])?:' "$log" \
      | head -n 40 || tail -n 40 "$log"
    summary+=("$(printf '%-20s FAILED  runs=%s' "$target" "${runs:-?}")")
  else
    summary+=("$(printf '%-20s ok  runs=%-10s exec/s=%-8s %s' "$target" "${runs:-?}" "${rate:-?}" "$cov")")
  fi
done

echo "== summary (${FUZZ_SECONDS} s per target, sanitizer $FUZZ_SANITIZER, total $(( $(date +%s) - start )) s)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "crashes in: ${failed[*]} (inputs under fuzz/artifacts/)"
  exit 1
fi
