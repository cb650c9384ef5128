#!/usr/bin/env python3
"""Time of a 20 models x 12 precisions MUSE sweep of 7B models with SparkSweep on G GPUs (one per executor).

A first-order model, not a measurement: per-cell costs measured on this project's 2-vCPU machine with
smollm-135m (bench/RESULTS.md, "Distributed sweeps on Spark") scaled by parameter count, GPU evaluation
from the H200 kernel figures in bench/RESULTS.md, and the task layout SparkSweep really uses (chunks of
one model's precisions, --cells-per-task default = cells / parallelism), list-scheduled onto G executors.
Usage: bench/spark/model.py [G ...]   (default 8 32 64)
"""
import math
import sys

MODELS, FLOAT_CELLS, PACKED_CELLS = 20, 2, 10          # bf16, fp16 + int8 fp4 nf4 rtn-* q8_0 q4_0 ...
PARAMS, LINEAR = 6.74e9, 6.48e9                         # Llama-2-7B: all weights, decoder Linear weights
SMOL_PARAMS, SMOL_LINEAR = 134.5e6, 106.2e6             # smollm-135m, what was measured here

# measured here (2-vCPU KVM guest, 1 thread, vector backend; bench/RESULTS.md)
QUANT_S_SMOL = 1.5        # quantize one packed precision of smollm-135m into the executor cache: mean of int8 0.9/0.6,
                          # nf4 3.5/2.1, rtn-w4-g128 1.1/0.7 s (the 1-worker run; 2.2x that with 2 workers on 2 busy vCPUs)
PACKED_LOAD_S_SMOL = 1.7  # Model.load of a packed smollm-135m (builds the dequantized float copy beside the packed weights)
HASH_GBPS = 0.25          # QuantCache.contentHash (SHA-256 in Java), 269 MB in 1.06 s
# driver's same-bucket pass: it quantizes every Linear tensor of the target and of each unlearned model at every
# packed precision (in memory, single-threaded); measured: seconds for (1 target + 1 unlearned) x 3 packed precisions
SB_MEASURED_S, SB_QUANTS = 7.0, (1 + 1) * 3
FIXED_S = 24.0            # the rest of a job: JVMs, executor registration, scheduling, hashing 2 small models, reports

# 7B on the GPU node
SHARED_GBPS = 1.2         # one node reading the float checkpoint from NFS over 10 GbE
NVME_GBPS = 2.0           # executor-local cache (packed checkpoint, ~3.9 GB at 4 bits)
H2D_GBPS = 20.0           # host to device upload
BF16_GB, PACKED_GB = 13.5, 3.9
# MUSE News per cell, every metric: scored/prefilled tokens (verbmem prompts 100x1024, knowmem prompts
# 200x~365, privleak forget/retain/holdout 300x2048) and greedy decode steps at batch 8 (100x128 + 200x32 tokens)
PREFILL_TOKENS, DECODE_STEPS = 100 * 1024 + 200 * 365 + 300 * 2048, (100 * 128 + 200 * 32) / 8
FLOP_PER_TOKEN = 2 * PARAMS
GEMM_TFLOPS = 185.0       # tensor-core GEMM v2 at M=2048 on the H200 (REVENANT_CUDA_MATH=tensor); exact math is slower
STEP_S = BF16_GB / (0.81 * 4197 / 2) / 1000 + 0.002  # bf16 GEMV at 0.81 of the copy bandwidth + ~2 ms launches/step

scale_lin = LINEAR / SMOL_LINEAR
quant_s = QUANT_S_SMOL * scale_lin                      # per (model, packed precision), on the executor CPU
eval_s = PREFILL_TOKENS * FLOP_PER_TOKEN / (GEMM_TFLOPS * 1e12) + DECODE_STEPS * STEP_S
read_float_s = BF16_GB / SHARED_GBPS                    # once per task (page cache for its other cells)
load_float_s = BF16_GB / H2D_GBPS + 1.0                 # page cache -> GPU
load_packed_s = PACKED_GB / NVME_GBPS + PACKED_LOAD_S_SMOL * PARAMS / SMOL_PARAMS + PACKED_GB / H2D_GBPS
hash_s = BF16_GB / HASH_GBPS
same_bucket_s = SB_MEASURED_S / SB_QUANTS * (1 + MODELS - 2) * PACKED_CELLS * scale_lin  # target + 18 unlearned


def chunks(g):
    """SparkSweep's tasks: per model, its 12 precisions cut into runs of cells/parallelism."""
    cells = FLOAT_CELLS + PACKED_CELLS
    per = max(1, MODELS * cells // g)
    out = []
    for _ in range(MODELS):
        kinds = ["f"] * FLOAT_CELLS + ["p"] * PACKED_CELLS
        for i in range(0, cells, per):
            out.append(kinds[i:i + per])
    return out


def task_s(c, warm):
    q = 0.0 if warm else quant_s                        # warm: the packed weights are already in the node's cache
    return read_float_s + sum(eval_s + (load_float_s if k == "f" else q + load_packed_s) for k in c)


def makespan(g, warm=False):
    free = [0.0] * g
    for c in chunks(g):                                 # Spark hands the next task to the first free slot
        i = free.index(min(free))
        free[i] += task_s(c, warm)
    return max(free)


def hours(s):
    return f"{s / 3600:.1f} h"


gs = [int(a) for a in sys.argv[1:]] or [8, 32, 64]
cells = MODELS * (FLOAT_CELLS + PACKED_CELLS)
print(f"per cell: eval {eval_s:.0f} s, quantize {quant_s:.0f} s (packed cells), load {load_float_s:.1f} s float / "
      f"{load_packed_s:.1f} s packed, + {read_float_s:.0f} s shared-storage read per task; hash {hash_s:.0f} s per model; "
      f"same-bucket pass on the driver {hours(same_bucket_s)}")
print("| GPUs | tasks | cells/task | stage 1 (hash) | cells (makespan) | GPU busy evaluating | driver same-bucket "
      "| total | cells/hour | total, caches warm | total, caches warm + same-bucket on the executors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for g in gs:
    cs = chunks(g)
    ms = makespan(g)
    hash_stage = math.ceil(MODELS / g) * hash_s
    busy = cells * eval_s / (g * ms)
    total = FIXED_S + hash_stage + ms + same_bucket_s
    warm = FIXED_S + hash_stage + makespan(g, True) + same_bucket_s
    spread = warm - same_bucket_s + same_bucket_s / g
    print(f"| {g} | {len(cs)} | {max(len(c) for c in cs)} | {hash_stage:.0f} s | {hours(ms)} | {busy:.0%} | "
          f"{hours(same_bucket_s)} | {hours(total)} | {cells * 3600 / total:.0f} | {hours(warm)} | {hours(spread)} |")
