#!/usr/bin/env bash
# Fuzzes the device host's C parsers with libFuzzer, ASan and UBSan (clang): the SMP framing, bundles (with
# the manifest and CBOR under them), the module verifier and the SMP server's commands. Usage: scripts/fuzz.sh [SECONDS per target, default 60]
# Prints one line per target: runs, executions per second, coverage. Any crash stops it with the reproducer path.
set -euo pipefail
cd "$(dirname "$0")/../devices/host"
seconds="${1:-60}"
command -v clang >/dev/null || { echo "fuzz.sh: needs clang (sudo apt-get install clang)" >&2; exit 2; }
make -s fuzz >/dev/null
mkdir -p build/fuzz/corpus build/fuzz/crashes
for target in frame bundle verify smp; do
  corpus="build/fuzz/corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  case "$target" in
    bundle) seeds=(../../tests/vectors/bundle) ;;
    verify) seeds=(../../tests/vectors/bundle/inputs) ;;
    smp) seeds=(fuzz/seeds/smp) ;;
  esac
  log="build/fuzz/$target.log"
  if ! ./build/fuzz/fuzz-"$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="build/fuzz/crashes/$target-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    echo "fuzz-$target: FAILED, see devices/host/$log"; tail -30 "$log"; exit 1
  fi
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
  speed=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')
  echo "fuzz-$target: ${seconds}s, $runs runs, $speed/s, coverage $cov edges, no crash"
done
