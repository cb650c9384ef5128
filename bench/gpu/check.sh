#!/usr/bin/env bash
# The GPU check, in one call on the lent GPU machine (../shared/device/README.md):
#   here:  bash bench/gpu/pack.sh                       (builds, packs .device/: runtime, jars, fixture models)
#   there: bash bench/gpu/check.sh [quick|e2e|full]     (device tool: carry [".device"])
# quick: every kernel and the fixture models against the CPU reference / HF outputs (revenant cuda check),
#        kernel benchmarks (copy bandwidth, GEMV per format, tensor-core GEMM) and PyTorch's on the same GPU.
# e2e:   a synthetic llama-2-7b end to end (scoring 16x512, greedy 128 tokens at batch 1 and 32), Revenant
#        and HF transformers bf16. full: both. Each stage has a time limit; a table is printed last.
# Logs and JSON: /tmp/rv-gpu, and packed as $OUT/gpu-logs.tgz when $OUT is set.
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-quick}
w=/tmp/rv-gpu
mkdir -p "$w"
save() { [[ -n ${OUT:-} ]] && tar czf "$OUT/gpu-logs.tgz" -C "$w" . 2>/dev/null; true; }  # after every stage: a kill keeps what ran
export PYTHONUNBUFFERED=1
java_rv() { local t=$1; shift; timeout "$t" bash .device/java.sh -Xmx64g dev.revenant.cli.Main "$@"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee "$w/device.txt"
m=/tmp/rv-llama-2-7b
if [[ $mode == e2e || $mode == full ]]; then  # the 7B checkpoint is written in the background meanwhile
    ( [[ -f $m/config.json ]] || java_rv 200 synth --preset llama-2-7b --dtype bf16 --seed 1 --out "$m" > "$w/synth.txt" 2>&1 ) &
    synth=$!
fi
if [[ $mode == quick || $mode == full ]]; then
    echo "== revenant cuda check"
    java_rv 150 cuda check --fixtures .device/fixtures/models > "$w/check.txt" 2>&1
    echo "exit $?" >> "$w/check.txt"
    grep -E "FAIL|Exception|Error|^device|^cuda check|^exit" "$w/check.txt" | head -60; save
    echo "== revenant cuda check, fixture models with batched attention (REVENANT_CUDA_BATCHED_ATTENTION=1)"
    REVENANT_CUDA_BATCHED_ATTENTION=1 java_rv 150 cuda check --fixtures .device/fixtures/models > "$w/check-batched.txt" 2>&1
    echo "exit $?" >> "$w/check-batched.txt"
    grep -E "FAIL|Exception|Error|^cuda check|^exit" "$w/check-batched.txt" | head -40; save
    echo "== revenant cuda bench (kernels)"
    java_rv 150 cuda bench --out "$w/revenant.json" > "$w/bench.txt" 2>&1
    echo "exit $?" >> "$w/bench.txt"
    cat "$w/bench.txt"; save
    echo "== torch baseline (kernels)"
    timeout 90 python3 bench/gpu/torch_baseline.py --out "$w/torch.json" --sections copy,int4,bf16gemm > "$w/torch.txt" 2> "$w/torch.err"
    tail -n 3 "$w/torch.err"; save
fi
if [[ $mode == e2e || $mode == full ]]; then
    wait "$synth"; tail -n 2 "$w/synth.txt"
    echo "== revenant end to end"
    java_rv 270 cuda bench --no-kernels --model "$m" --precisions "${PRECISIONS:-bf16,rtn-w4-g128}" \
        --out "$w/revenant-e2e.json" > "$w/e2e.txt" 2>&1
    echo "exit $?" >> "$w/e2e.txt"
    cat "$w/e2e.txt"; save
    echo "== HF transformers end to end"
    timeout 200 python3 bench/gpu/torch_baseline.py --out "$w/torch-e2e.json" --sections hf --model "$m" > "$w/torch-e2e.txt" 2> "$w/torch-e2e.err"
    tail -n 8 "$w/torch-e2e.err"; save
    echo "== run-time parity (--check-parity 8) on the 7B, both math modes"
    for mm in exact tensor; do
        REVENANT_CUDA_MATH=$mm java_rv 75 generate --backend cuda --model "$m" --ids 1,450,4996,310,278,3303,338,263 \
            --max-new-tokens 8 --check-parity 8 > "$w/parity-$mm.txt" 2>&1
        grep -E "^parity|^backend|^[0-9]|revenant" "$w/parity-$mm.txt" | tail -40
    done
    save
fi
echo "== summary"
python3 bench/gpu/summary.py "$w" | tee "$w/summary.txt"
save
[[ -n ${OUT:-} ]] && cp "$w/summary.txt" "$OUT/" 2>/dev/null
true
