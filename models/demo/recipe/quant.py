"""Fake-quantization of the decoder Linear weights, for quick checks while tuning the recipe. Revenant's
own quantizers are what the demo measures; these follow the same definitions (muse-spec §2.2 for FP4/NF4,
the GPTQ authors' min-max quantizer for RTN) closely enough to see trends."""
import torch

from llama import LINEARS, to_bf16

FP4_T = [0.8333333, 0.583333, 0.4166667, 0.29166667, 0.20833333, 0.0859375, 0.00260417]
FP4_V = [1.0, 0.66666667, 0.5, 0.33333333, 0.25, 0.16666667, 0.005208333, 0.0]
NF4 = [-1, -0.6961928, -0.5250731, -0.3949175, -0.2844414, -0.1847734, -0.0910500, 0, 0.0795803, 0.1609302,
       0.2461123, 0.3379152, 0.4407098, 0.5626170, 0.7229568, 1.0]


def fp4(w):
    b = w.reshape(-1, 64)
    amax = b.abs().amax(1, keepdim=True).clamp_min(1e-30)
    x = b * (1.0 / amax)
    a = x.abs()
    v = torch.full_like(a, FP4_V[-1])
    for t, val in reversed(list(zip(FP4_T, FP4_V[:-1]))):
        v = torch.where(a > t, torch.tensor(val), v)
    return (torch.where(x < 0, -v, v) * amax).reshape(w.shape)


def nf4(w):
    b = w.reshape(-1, 64)
    amax = b.abs().amax(1, keepdim=True).clamp_min(1e-30)
    x = b / amax
    cb = torch.tensor(NF4)
    idx = (x.unsqueeze(-1) - cb).abs().argmin(-1)
    return (cb[idx] * amax).reshape(w.shape)


def rtn(w, bits=4, group=128):
    rows, cols = w.shape
    g = w.reshape(rows, cols // group, group)
    mn = g.amin(-1, keepdim=True).clamp_max(0)
    mx = g.amax(-1, keepdim=True).clamp_min(0)
    maxq = 2 ** bits - 1
    s = ((mx - mn) / maxq).clamp_min(1e-12)
    z = torch.round(-mn / s)
    q = (torch.round(g / s) + z).clamp(0, maxq)
    return (s * (q - z)).reshape(rows, cols)


def int8_rows(w):
    s = w.abs().amax(1, keepdim=True).clamp_min(1e-30)
    return torch.round(w * (127 / s)) * s / 127


MODES = {"bf16": None, "int8": int8_rows, "fp4": fp4, "nf4": nf4, "rtn4": rtn}


def quantized(p, mode):
    q = {k: to_bf16(v) for k, v in p.items()}
    f = MODES[mode]
    if f is None:
        return q
    for k in q:
        if any(k.endswith(n + ".weight") for n in LINEARS):
            q[k] = to_bf16(f(q[k]))
    return q


def same_bucket(p_target, p_model, mode):
    """Fraction of decoder Linear weights that differ in bf16 but quantize to the same value."""
    qt, qm = quantized(p_target, mode), quantized(p_model, mode)
    same = tot = 0
    for k in qt:
        if any(k.endswith(n + ".weight") for n in LINEARS):
            a, b = to_bf16(p_target[k]), to_bf16(p_model[k])
            diff = a != b
            tot += int(diff.sum())
            same += int((diff & (qt[k] == qm[k])).sum())
    return same / max(tot, 1)
