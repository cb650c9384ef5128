#!/usr/bin/env python3
"""Prints Revenant's GPU figures beside PyTorch's, measured in the same call (bench/gpu/check.sh)."""
import json
import os
import sys

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/rv-gpu"


def load(name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except Exception as e:  # a section that did not run
        return {"_error": str(e)}


rv, tc = load("revenant.json"), load("torch.json")
rve, tce = load("revenant-e2e.json"), load("torch-e2e.json")
print("device:", rv.get("device"), "| torch:", tc.get("device", tc.get("device_name")))
copy = rv.get("copy_gbs")
tcopy = tc.get("copy", {}).get("1GiB", {}).get("rw_GBps")
print(f"copy d2d 1 GiB (r+w GB/s): revenant {copy}  torch {tcopy}")
print(f"{'GEMV batch 1 (cold)':34} {'revenant us':>12} {'frac copy':>9} {'torch us':>10} {'torch/rev':>9}")
for n, k in ((4096, 4096), (11008, 4096), (4096, 11008)):
    t = tc.get("int4", {}).get(f"{n}x{k}", {})
    for ours, theirs in (("rtn-w4-g128", "w4a16"), ("rtn-w4-g128 tc", "w4a16"), ("rtn-w8", "w8a16"), ("bf16", "bf16"),
                         ("bf16 tc", "bf16"), ("q4_0", "w4a16"), ("q8_0", "w8a16"), ("nf4", "w4a16")):
        us = rv.get(f"gemv {ours} {n}x{k} us")
        fr = rv.get(f"gemv {ours} {n}x{k} frac_copy")
        tu = t.get(theirs, {}).get("cold_us")
        ratio = f"{tu / us:.2f}" if us and tu else "-"
        print(f"{ours + ' ' + str(n) + 'x' + str(k):34} {us or float('nan'):12.1f} {fr or float('nan'):9.2f} "
              f"{tu or float('nan'):10.1f} {ratio:>9}")
print(f"{'GEMM bf16 tensor cores':34} {'rev TFLOP/s':>12} {'torch':>9} {'rev/torch':>9}")
for n, k in ((4096, 4096), (11008, 4096), (4096, 11008)):
    for m in (16, 128, 512, 2048):
        ours = rv.get(f"gemm_tc bf16 M={m} {n}x{k} tflops")
        theirs = tc.get("bf16gemm", {}).get(f"M{m}_{n}x{k}", {}).get("TFLOPs")
        ratio = f"{ours / theirs:.2f}" if ours and theirs else "-"
        print(f"{'M=' + str(m) + ' ' + str(n) + 'x' + str(k):34} {ours or float('nan'):12.1f} "
              f"{theirs or float('nan'):9.1f} {ratio:>9}")
if "_error" not in rve or "_error" not in tce:
    hf = tce.get("hf", tce)
    print("end to end, synthetic llama-2-7b (tokens/s)")
    hs = hf.get("scoring", {}).get("tokens_per_s")
    h1 = hf.get("generate_b1", {}).get("new_tokens_per_s")
    h32 = hf.get("generate_b32", {}).get("new_tokens_per_s")
    print(f"  HF transformers bf16: scoring {hs}  greedy b1 {h1}  greedy b32 {h32}")
    for key, val in rve.items():
        if key.startswith("e2e"):
            print(f"  revenant {key[4:]}: {val:.1f}")
