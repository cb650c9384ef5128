#!/usr/bin/env python3
"""PyTorch baselines for the Revenant GPU kernels (one run on a lent H100/H200).

Usage: python3 bench/gpu/torch_baseline.py --out results.json [--model DIR]
                                           [--sections copy,int4,bf16gemm,hf]

Every section is wrapped in try/except: a failure is recorded as {"error": ...} and the run goes
on. Results are rewritten to --out after every section, so a run cut short keeps what it measured.
Timings use CUDA events; a "sample" times `reps` back-to-back calls and divides by reps; the figure
reported is the median over the samples, after warm-up. Weights that fit in L2 are also measured
"cold": several copies spanning >= 512 MiB are used in turn, so each call streams from HBM.
"""
import argparse, gc, json, os, statistics, sys, time, traceback

import torch

RESULTS = {}
OUT = None


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def save():
    if OUT:
        with open(OUT, "w") as f:
            json.dump(RESULTS, f, indent=1, default=str)


def err(e):
    return {"error": f"{type(e).__name__}: {e}".strip()[:2000]}


def bench_us(fns, warmup=5, iters=20, reps=1):
    """Median microseconds per call; fns is a list of callables used in turn (rotation)."""
    n = len(fns)
    k = 0
    for _ in range(warmup):
        for _ in range(reps):
            fns[k % n](); k += 1
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(reps):
            fns[k % n](); k += 1
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e) * 1000.0 / reps)
    return statistics.median(times)


def copies_for(nbytes, span=512 << 20, cap=128):
    return max(1, min(cap, -(-span // max(1, nbytes))))


def device_info():
    p = torch.cuda.get_device_properties(0)
    info = {"torch": torch.__version__, "cuda": torch.version.cuda,
            "name": torch.cuda.get_device_name(0), "sm_count": p.multi_processor_count,
            "capability": f"{p.major}.{p.minor}", "total_memory_bytes": p.total_memory,
            "l2_cache_bytes": getattr(p, "L2_cache_size", None)}
    for mod in ("transformers", "numpy", "safetensors"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception as e:
            info[mod] = err(e)["error"]
    return info


def sec_copy():
    res = {}
    for gib in (1, 2):
        try:
            size = gib << 30
            src = torch.randint(0, 256, (size,), dtype=torch.uint8, device="cuda")
            dst = torch.empty_like(src)
            us = bench_us([lambda: dst.copy_(src)], warmup=3, iters=20)
            ok = bool(torch.equal(dst[:1 << 20], src[:1 << 20]))
            res[f"{gib}GiB"] = {"bytes": size, "median_us": us, "rw_GBps": 2 * size / us / 1e3,
                                "read_GBps": size / us / 1e3, "check_ok": ok}
            log(f"copy {gib} GiB: {us:.1f} us, r+w {2 * size / us / 1e3:.1f} GB/s")
            del src, dst
            torch.cuda.empty_cache()
        except Exception as e:
            res[f"{gib}GiB"] = err(e)
            log(f"copy {gib} GiB failed: {e}")
    return res


SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008)]


def int4_check(x, wu8, sz, g, out):
    """Compare against a float dequantisation assuming high nibble = even k, w=(q-8)*s+z."""
    N, K = wu8.shape[0], wu8.shape[1] * 2
    q = torch.empty(N, K, dtype=torch.float32, device="cuda")
    q[:, 0::2] = (wu8 >> 4).float()
    q[:, 1::2] = (wu8 & 15).float()
    s = sz[..., 0].float().t().repeat_interleave(g, dim=1)  # [N, K]
    z = sz[..., 1].float().t().repeat_interleave(g, dim=1)
    ref = x.float() @ ((q - 8) * s + z).t()
    return float((out.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6))


def sec_int4(group=128, inner_k_tiles=8):
    res = {}
    x_cache = {}
    for N, K in SHAPES:
        key = f"{N}x{K}"
        r = res[key] = {"N": N, "K": K}
        x = x_cache.setdefault(K, torch.randn(1, K, dtype=torch.bfloat16, device="cuda"))
        # --- W4A16 (tinygemm) ---
        try:
            wu8 = torch.randint(0, 256, (N, K // 2), dtype=torch.uint8, device="cuda")
            packed = torch.ops.aten._convert_weight_to_int4pack(wu8, inner_k_tiles)
            sz = torch.empty(K // group, N, 2, dtype=torch.bfloat16, device="cuda")
            sz[..., 0].uniform_(0.001, 0.02)
            sz[..., 1].uniform_(-0.05, 0.05)
            nbytes = N * K // 2 + sz.numel() * 2
            ncp = copies_for(nbytes)
            pk = [packed] + [packed.clone() for _ in range(ncp - 1)]
            szs = [sz] + [sz.clone() for _ in range(ncp - 1)]
            mm = torch.ops.aten._weight_int4pack_mm
            hot = bench_us([lambda: mm(x, packed, group, sz)], warmup=10, iters=30, reps=20)
            cold = bench_us([(lambda p=p, s=s: mm(x, p, group, s)) for p, s in zip(pk, szs)],
                            warmup=10, iters=30, reps=ncp)
            d = {"group": group, "innerKTiles": inner_k_tiles, "packed_shape": list(packed.shape),
                 "weight_plus_scale_bytes": nbytes, "copies_cold": ncp,
                 "hot_us": hot, "hot_GBps": nbytes / hot / 1e3,
                 "cold_us": cold, "cold_GBps": nbytes / cold / 1e3}
            try:
                d["check_rel_err"] = int4_check(x, wu8, sz, group, mm(x, packed, group, sz))
            except Exception as e:
                d["check_rel_err"] = err(e)["error"]
            r["w4a16"] = d
            log(f"int4 {key}: hot {hot:.1f} us, cold {cold:.1f} us ({nbytes / cold / 1e3:.0f} GB/s)")
            del pk, szs, packed, wu8, sz
        except Exception as e:
            r["w4a16"] = err(e)
            log(f"int4 {key} failed: {e}")
        # --- W8A16 ---
        try:
            f8 = getattr(torch, "_weight_int8pack_mm", None) or torch.ops.aten._weight_int8pack_mm
            w8 = torch.randint(-127, 128, (N, K), dtype=torch.int8, device="cuda")
            sc = (torch.rand(N, device="cuda") * 0.02).to(torch.bfloat16)
            nbytes = N * K + N * 2
            ncp = copies_for(nbytes)
            ws = [(w8, sc)] + [(w8.clone(), sc.clone()) for _ in range(ncp - 1)]
            y = f8(x, w8, sc)
            ref = (x.float() @ w8.float().t()) * sc.float()
            rel = float((y.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6))
            hot = bench_us([lambda: f8(x, w8, sc)], warmup=5, iters=20, reps=10)
            cold = bench_us([(lambda a=a, b=b: f8(x, a, b)) for a, b in ws],
                            warmup=5, iters=20, reps=ncp)
            r["w8a16"] = {"bytes": nbytes, "copies_cold": ncp, "out_dtype": str(y.dtype),
                          "check_rel_err": rel, "hot_us": hot, "hot_GBps": nbytes / hot / 1e3,
                          "cold_us": cold, "cold_GBps": nbytes / cold / 1e3}
            log(f"int8 {key}: hot {hot:.1f} us, cold {cold:.1f} us")
            del ws, w8, sc
        except Exception as e:
            r["w8a16"] = err(e)
            log(f"int8 {key} failed: {e}")
        # --- bf16 GEMV reference ---
        try:
            w = torch.randn(N, K, dtype=torch.bfloat16, device="cuda")
            nbytes = N * K * 2
            ncp = copies_for(nbytes)
            ws = [w] + [w.clone() for _ in range(ncp - 1)]
            hot = bench_us([lambda: torch.matmul(x, w.t())], warmup=5, iters=20, reps=10)
            cold = bench_us([(lambda a=a: torch.matmul(x, a.t())) for a in ws],
                            warmup=5, iters=20, reps=ncp)
            r["bf16"] = {"bytes": nbytes, "copies_cold": ncp, "hot_us": hot,
                         "hot_GBps": nbytes / hot / 1e3, "cold_us": cold,
                         "cold_GBps": nbytes / cold / 1e3}
            log(f"bf16 gemv {key}: hot {hot:.1f} us, cold {cold:.1f} us")
            del ws, w
        except Exception as e:
            r["bf16"] = err(e)
            log(f"bf16 gemv {key} failed: {e}")
        torch.cuda.empty_cache()
    return res


def sec_bf16gemm():
    res = {}
    for N, K in SHAPES:
        w = None
        for M in (16, 128, 512, 2048):
            key = f"M{M}_{N}x{K}"
            try:
                if w is None:
                    w = torch.randn(N, K, dtype=torch.bfloat16, device="cuda")
                x = torch.randn(M, K, dtype=torch.bfloat16, device="cuda")
                us = bench_us([lambda: torch.matmul(x, w.t())], warmup=5, iters=20,
                              reps=10 if M <= 512 else 3)
                res[key] = {"M": M, "N": N, "K": K, "median_us": us,
                            "TFLOPs": 2 * M * N * K / us / 1e6}
                log(f"gemm {key}: {us:.1f} us, {2 * M * N * K / us / 1e6:.1f} TFLOP/s")
            except Exception as e:
                res[key] = err(e)
                log(f"gemm {key} failed: {e}")
        del w
    torch.cuda.empty_cache()
    return res


def timed_s(fn):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); out = fn(); e.record(); e.synchronize()
    return s.elapsed_time(e) / 1000.0, out


def sec_hf(model_dir):
    from transformers import AutoModelForCausalLM
    res = {"model_dir": model_dir}
    t0 = time.time()
    kw = dict(attn_implementation="sdpa")
    model = None
    for dev_map in (True, False):
        try:
            extra = {"device_map": "cuda"} if dev_map else {}
            try:
                model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, **kw, **extra)
            except TypeError:
                model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16, **kw, **extra)
            if not dev_map:
                model = model.to("cuda")
            break
        except Exception as e:
            res["load_error_device_map" if dev_map else "load_error"] = err(e)["error"]
            log(f"load (device_map={dev_map}) failed: {e}")
    if model is None:
        return res
    model.eval()
    res["load_s"] = time.time() - t0
    res["param_dtype"] = str(next(model.parameters()).dtype)
    res["param_device"] = str(next(model.parameters()).device)
    res["n_params"] = sum(p.numel() for p in model.parameters())
    res["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
    vocab = min(32000, int(getattr(model.config, "vocab_size", 32000)))
    log(f"model loaded in {res['load_s']:.1f} s, {res['n_params'] / 1e9:.2f} B params")
    gen = torch.Generator().manual_seed(1234)
    # (a) scoring
    try:
        B, T = 16, 512
        ids = torch.randint(3, vocab, (B, T), generator=gen).cuda()

        def score():
            logits = model(input_ids=ids, use_cache=False).logits
            lp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            return lp.gather(-1, ids[:, 1:, None]).squeeze(-1).sum()

        with torch.inference_mode():
            timed_s(score)
            torch.cuda.reset_peak_memory_stats()
            runs = [timed_s(score) for _ in range(3)]
        secs = statistics.median(r[0] for r in runs)
        res["scoring"] = {"batch": B, "seq": T, "runs_s": [r[0] for r in runs], "median_s": secs,
                          "tokens_per_s": B * T / secs, "logprob_sum": float(runs[-1][1]),
                          "peak_mem_bytes": torch.cuda.max_memory_allocated()}
        log(f"scoring: {secs:.3f} s, {B * T / secs:.0f} tok/s")
        del ids
    except Exception as e:
        res["scoring"] = err(e)
        log(f"scoring failed: {e}")
    torch.cuda.empty_cache()
    # (b) greedy generation
    for B in (1, 32):
        key = f"generate_b{B}"
        try:
            P, NEW = 32, 128
            ids = torch.randint(3, vocab, (B, P), generator=gen).cuda()
            mask = torch.ones_like(ids)

            def run(n):
                return model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                      max_new_tokens=n, min_new_tokens=n, pad_token_id=0)

            with torch.inference_mode():
                run(8)
                torch.cuda.synchronize()
                runs = []
                for i in range(3):
                    t = time.perf_counter()
                    out = run(NEW)
                    out = getattr(out, "sequences", out)
                    torch.cuda.synchronize()
                    runs.append(time.perf_counter() - t)
                    if B == 32 and i == 1 and sum(runs) > 60:
                        break
            secs = statistics.median(runs)
            got = int(out.shape[1] - P)
            res[key] = {"batch": B, "prompt": P, "new_tokens": NEW, "got_new_tokens": got,
                        "runs_s": runs, "median_s": secs, "new_tokens_per_s": B * got / secs,
                        "ms_per_step": secs / max(1, got) * 1e3}
            log(f"{key}: {secs:.3f} s, {B * got / secs:.1f} new tok/s")
            del ids, mask, out
        except Exception as e:
            res[key] = err(e)
            log(f"{key} failed: {e}")
    del model
    gc.collect()
    torch.cuda.empty_cache()
    return res


def table():
    lines = []
    dev = RESULTS.get("device", {})
    lines.append(f"device: {dev.get('name')}  SMs {dev.get('sm_count')}  "
                 f"mem {int(dev.get('total_memory_bytes', 0)) / 2**30:.1f} GiB  "
                 f"torch {dev.get('torch')}  transformers {dev.get('transformers')}")

    def f(d, k, fmt):
        v = d.get(k) if isinstance(d, dict) else None
        return format(v, fmt) if isinstance(v, (int, float)) else "-"

    for k, d in RESULTS.get("copy", {}).items():
        if not isinstance(d, dict):
            continue
        lines.append(f"copy {k:>5}: " + (d["error"] if "error" in d else
                     f"{f(d, 'median_us', '9.1f')} us  r+w {f(d, 'rw_GBps', '7.1f')} GB/s  "
                     f"read {f(d, 'read_GBps', '7.1f')} GB/s"))
    for k, r in RESULTS.get("int4", {}).items():
        if not isinstance(r, dict):
            continue
        if "error" in r:
            lines.append(f"gemv {k}: {r['error']}"); continue
        for kind in ("w4a16", "w8a16", "bf16"):
            d = r.get(kind, {})
            lines.append(f"gemv {k:>11} {kind:>5}: " + (d["error"][:120] if "error" in d else
                         f"hot {f(d, 'hot_us', '8.1f')} us ({f(d, 'hot_GBps', '6.0f')} GB/s)  "
                         f"cold {f(d, 'cold_us', '8.1f')} us ({f(d, 'cold_GBps', '6.0f')} GB/s)"))
    for k, d in RESULTS.get("bf16gemm", {}).items():
        if not isinstance(d, dict):
            continue
        lines.append(f"gemm {k:>18}: " + (d["error"][:120] if "error" in d else
                     f"{f(d, 'median_us', '9.1f')} us  {f(d, 'TFLOPs', '6.1f')} TFLOP/s"))
    hf = RESULTS.get("hf", {})
    for k in ("scoring", "generate_b1", "generate_b32"):
        d = hf.get(k)
        if not isinstance(d, dict):
            continue
        if "error" in d:
            lines.append(f"hf {k}: {d['error'][:160]}")
        elif k == "scoring":
            lines.append(f"hf scoring 16x512: {f(d, 'median_s', '.3f')} s  {f(d, 'tokens_per_s', '.0f')} tok/s")
        else:
            lines.append(f"hf {k}: {f(d, 'median_s', '.3f')} s  {f(d, 'new_tokens_per_s', '.1f')} new tok/s  "
                         f"{f(d, 'ms_per_step', '.2f')} ms/step")
    for k in ("error", "load_error", "load_error_device_map"):
        if k in hf:
            lines.append(f"hf {k}: {str(hf[k])[:160]}")
    return "\n".join(lines)


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--sections", default="copy,int4,bf16gemm,hf")
    a = ap.parse_args()
    OUT = a.out
    secs = [s.strip() for s in a.sections.split(",") if s.strip()]
    RESULTS["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS["sections"] = secs
    try:
        RESULTS["device"] = device_info()
        log(f"device: {RESULTS['device']}")
    except Exception as e:
        RESULTS["device"] = err(e)
        log(f"no usable CUDA device: {e}")
    save()
    torch.manual_seed(0)
    fns = {"copy": sec_copy, "int4": sec_int4, "bf16gemm": sec_bf16gemm}
    for s in secs:
        t0 = time.time()
        log(f"section {s} ...")
        try:
            if s == "hf":
                RESULTS["hf"] = sec_hf(a.model) if a.model else {"skipped": "no --model given"}
            elif s in fns:
                RESULTS[s] = fns[s]()
            else:
                RESULTS[s] = {"error": "unknown section"}
        except Exception as e:
            RESULTS[s] = err(e)
            RESULTS[s]["traceback"] = traceback.format_exc()[-3000:]
            log(f"section {s} failed: {e}")
        RESULTS.setdefault("section_wall_s", {})[s] = round(time.time() - t0, 2)
        gc.collect()
        try:
            torch.cuda.empty_cache()
        except Exception:
            pass
        save()
    RESULTS["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    try:
        print(table(), flush=True)
    except Exception as e:
        print(f"table failed: {e}", flush=True)


if __name__ == "__main__":
    main()
