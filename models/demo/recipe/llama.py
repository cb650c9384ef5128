"""A minimal Llama (RMSNorm, RoPE with rotate-half, SwiGLU, no biases, untied lm_head) in PyTorch, with the
Hugging Face LlamaForCausalLM tensor names, and a safetensors writer (bf16) written from the format:
8-byte little-endian header length, a JSON header, then the raw tensor bytes."""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F


class Config:
    def __init__(self, vocab, hidden, layers, heads, inter, max_pos=512, theta=10000.0, eps=1e-5):
        self.vocab, self.hidden, self.layers, self.heads, self.inter = vocab, hidden, layers, heads, inter
        self.max_pos, self.theta, self.eps = max_pos, theta, eps

    def hf(self):
        return {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
                "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": self.hidden,
                "initializer_range": 0.02, "intermediate_size": self.inter, "max_position_embeddings": self.max_pos,
                "mlp_bias": False, "model_type": "llama", "num_attention_heads": self.heads,
                "num_hidden_layers": self.layers, "num_key_value_heads": self.heads, "pad_token_id": 0,
                "pretraining_tp": 1, "rms_norm_eps": self.eps, "rope_scaling": None, "rope_theta": self.theta,
                "tie_word_embeddings": False, "torch_dtype": "bfloat16", "transformers_version": "4.44.2",
                "use_cache": True, "vocab_size": self.vocab}


LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def init_params(cfg, gen):
    """Weights as a dict name -> fp32 tensor (HF names), normal(0, 0.02) like HF's initializer."""
    def n(*shape):
        return torch.randn(*shape, generator=gen) * 0.02
    h, i = cfg.hidden, cfg.inter
    p = {"model.embed_tokens.weight": n(cfg.vocab, h), "model.norm.weight": torch.ones(h), "lm_head.weight": n(cfg.vocab, h)}
    for l in range(cfg.layers):
        pre = "model.layers.%d." % l
        p[pre + "input_layernorm.weight"] = torch.ones(h)
        p[pre + "post_attention_layernorm.weight"] = torch.ones(h)
        for name, shape in zip(LINEARS, [(h, h)] * 4 + [(i, h), (i, h), (h, i)]):
            p[pre + name + ".weight"] = n(*shape)
    return p


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(cfg, t, device=None):
    d = cfg.hidden // cfg.heads
    inv = 1.0 / (cfg.theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    f = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    e = torch.cat([f, f], -1)
    return e.cos(), e.sin()


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)


def forward(cfg, p, ids):
    """ids (B, T) -> logits (B, T, vocab), causal, no padding mask (right padding is ignored by the loss)."""
    B, T = ids.shape
    hd = cfg.hidden // cfg.heads
    cos, sin = rope(cfg, T)
    x = F.embedding(ids, p["model.embed_tokens.weight"])
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(cfg.layers):
        pre = "model.layers.%d." % l
        h = rms(x, p[pre + "input_layernorm.weight"], cfg.eps)
        q, k, v = (F.linear(h, p[pre + "self_attn.%s_proj.weight" % c]).view(B, T, cfg.heads, hd).transpose(1, 2)
                   for c in "qkv")
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, cfg.hidden)
        x = x + F.linear(o, p[pre + "self_attn.o_proj.weight"])
        h = rms(x, p[pre + "post_attention_layernorm.weight"], cfg.eps)
        g = F.silu(F.linear(h, p[pre + "mlp.gate_proj.weight"])) * F.linear(h, p[pre + "mlp.up_proj.weight"])
        x = x + F.linear(g, p[pre + "mlp.down_proj.weight"])
    return F.linear(rms(x, p["model.norm.weight"], cfg.eps), p["lm_head.weight"])


def to_bf16(t):
    """fp32 -> bf16 with round-to-nearest-even on the bit pattern (what torch does too); returns fp32 values."""
    return t.to(torch.bfloat16).to(torch.float32)


def bf16_bytes(t):
    bits = t.contiguous().to(torch.float32).view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16  # round to nearest even (no NaNs in these weights)
    return (rounded & 0xFFFF).to(torch.int32).numpy().astype("<u2").tobytes()


def save(out_dir, cfg, p, tokenizer_dir):
    os.makedirs(out_dir, exist_ok=True)
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(p):
        b = bf16_bytes(p[name])
        header[name] = {"dtype": "BF16", "shape": list(p[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg.hf(), f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": 2}, f, indent=2)
    for fn in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(tokenizer_dir, fn), "rb") as src, open(os.path.join(out_dir, fn), "wb") as dst:
            dst.write(src.read())
