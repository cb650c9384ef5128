#!/usr/bin/env bash
# Synthesizes a llama-2-7b bf16 checkpoint (13.5 GB; needs ~14 GB free disk) and checks that it can be
# inspected and run for one token under -Xmx2g: weights are mmapped, never copied to the heap.
# Usage: bench/scripts/large-model-check.sh [DIR]   (default DIR: /tmp/revenant-llama-2-7b; deleted after)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-/tmp/revenant-llama-2-7b}
./revenant synth --preset llama-2-7b --dtype bf16 --seed 1 --out "$dir"
export REVENANT_JAVA_OPTS="-Xmx2g -Xlog:gc:file=$dir.gc.log"
./revenant inspect "$dir" | head -8
/usr/bin/time -f "wall %e s, max RSS %M KB (mapped page cache included)" \
  ./revenant logits --model "$dir" --ids 1 --out "$dir.logits.safetensors"
echo "largest heap after GC (from $dir.gc.log):"
grep -oE "[0-9]+M->[0-9]+M\([0-9]+M\)" "$dir.gc.log" | sort -t'>' -k2 -n | tail -1 || echo "  (no GC ran)"
rm -rf "$dir" "$dir.logits.safetensors" "$dir.gc.log"
