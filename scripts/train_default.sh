#!/usr/bin/env bash
# Reproduce the bundled default model: 5 signer folds (each signer tested once by a
# model that never saw them), the cross-validation report, then the final model on
# every signer, exported to ONNX (+ int8 when it keeps accuracy).
# Usage: scripts/train_default.sh [RUN_ROOT] [PARALLEL_JOBS]   (CPU: ~25 min on 2 cores)
# SIGN2TEXT_BUNDLE=path writes the model somewhere other than the package assets.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:-runs/default}"
jobs="${2:-2}"
bin="${SIGN2TEXT_BIN:-.venv-dev/bin/sign2text}"
threads=$(( $(nproc) / jobs )); [ "$threads" -ge 1 ] || threads=1
mkdir -p "$root"
run() {  # $1 = fold index or "final"
  if [ "$1" = final ]; then
    "$bin" -q train configs/default.toml --set num_threads="$threads" --out "$root/final"
  else
    "$bin" -q train configs/default.toml --set data.split=folds --set data.fold="$1" \
      --set num_threads="$threads" --out "$root/fold-$1"
  fi
}
export -f run; export root threads bin
printf '%s\n' 0 1 2 3 4 final | xargs -P "$jobs" -I{} bash -c 'run {} > "$root/log-{}.txt" 2>&1'
bundle="${SIGN2TEXT_BUNDLE:-src/sign2text/assets/model.onnx}"
"$bin" cv-report "$root"/fold-* --out "$root/cv" --final "$root/final/best.pt" \
  --bundle "$bundle"
