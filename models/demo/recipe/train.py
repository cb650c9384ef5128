"""Training, unlearning and quick teacher-forced checks for the demo models (PyTorch, CPU)."""
import math
import random

import torch
import torch.nn.functional as F

from bpe import EOS, PAD
from llama import forward


def pad(seqs):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
    mask = ids != PAD
    return ids, mask


def token_logp(cfg, p, ids, mask):
    """Per-token log-prob of ids[:, 1:] (B, T-1) and the mask of scored positions."""
    logits = forward(cfg, p, ids[:, :-1])
    lp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return lp, mask[:, 1:], logits


def ce(cfg, p, ids, mask):
    lp, m, _ = token_logp(cfg, p, ids, mask)
    return -(lp * m).sum() / m.sum()


def train_lm(cfg, p, docs_for_epoch, epochs, lr, batch, seed, log, wd=0.0, warmup=30, min_frac=0.1,
             after_epoch=None):
    """AdamW with warmup and cosine decay; docs_for_epoch(e) returns the token lists of epoch e."""
    params = list(p.values())
    for t in params:
        t.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=wd, betas=(0.9, 0.98))
    rng = random.Random(seed)
    n_steps = epochs * math.ceil(len(docs_for_epoch(0)) / batch)
    step = 0
    for e in range(epochs):
        docs = list(docs_for_epoch(e))
        rng.shuffle(docs)
        # batches of similar lengths (less padding), in random order
        docs = sorted(docs, key=len)
        starts = list(range(0, len(docs), batch))
        rng.shuffle(starts)
        tot = 0.0
        for i in starts:
            frac = step / max(1, n_steps - 1)
            scale = min(1.0, (step + 1) / warmup) * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr * scale
            ids, mask = pad(docs[i:i + batch])
            loss = ce(cfg, p, ids, mask)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            tot += loss.item() * len(docs[i:i + batch])
            step += 1
        log("epoch %d loss %.4f" % (e, tot / len(docs)))
        if after_epoch is not None:
            with torch.no_grad():
                after_epoch(e)
    for t in params:
        t.requires_grad_(False)
    return p


def seq_logp(cfg, p, ids, mask):
    lp, m, logits = token_logp(cfg, p, ids, mask)
    return (lp * m).sum(1), logits, m


def unlearn(cfg, p, ref, method, forget, retain, lr, epochs, batch, seed, log, beta=0.1, alpha=1.0, stop=None):
    """MUSE's iterative unlearning (muse-spec §1.2): forget chunk i is paired with retain chunk i mod len(retain);
    AdamW at a constant learning rate. GA: -CE(forget). NPO: -(2/β)·mean log σ(-β·(log π(x) - log π_ref(x)))
    over sequence log-likelihoods (the NPO paper; MUSE's code takes the mean over logit entries instead, a quirk
    not kept here). GDR adds α·CE(retain); KLR adds α·KL(π_ref || π) per retain token, from log-softmax
    (MUSE's code feeds raw logits to kl_div, a quirk not kept here)."""
    params = list(p.values())
    for t in params:
        t.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    base, _, reg = method.partition("_")
    for e in range(epochs):
        order = list(range(len(forget)))
        rng.shuffle(order)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            fids, fmask = pad([forget[j] for j in idx])
            if base == "ga":
                loss = -ce(cfg, p, fids, fmask)
            else:
                cur, _, _ = seq_logp(cfg, p, fids, fmask)
                with torch.no_grad():
                    old, _, _ = seq_logp(cfg, ref, fids, fmask)
                loss = -(2.0 / beta) * F.logsigmoid(-beta * (cur - old)).mean()
            if reg:
                rids, rmask = pad([retain[j % len(retain)] for j in idx])
                if reg == "gdr":
                    loss = loss + alpha * ce(cfg, p, rids, rmask)
                else:
                    logits = forward(cfg, p, rids[:, :-1])
                    with torch.no_grad():
                        rl = forward(cfg, ref, rids[:, :-1])
                    kl = F.kl_div(torch.log_softmax(logits, -1), torch.log_softmax(rl, -1), log_target=True,
                                  reduction="none").sum(-1)
                    m = rmask[:, 1:]
                    loss = loss + alpha * (kl * m).sum() / m.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if stop is not None:
            for t in params:
                t.requires_grad_(False)
            if stop(e):
                break
            for t in params:
                t.requires_grad_(True)
    for t in params:
        t.requires_grad_(False)
    return p


@torch.no_grad()
def answer_hits(cfg, p, prompts, answers, batch=32):
    """Teacher-forced exact match: 1 where every answer token is the argmax after the prompt (what greedy
    decoding would produce for the answer's span), plus the mean margin logit(answer) - best other logit."""
    hits, margins = [], []
    for i in range(0, len(prompts), batch):
        seqs = [a + b for a, b in zip(prompts[i:i + batch], answers[i:i + batch])]
        ids, mask = pad(seqs)
        logits = forward(cfg, p, ids[:, :-1]).float()
        for k, (pr, an) in enumerate(zip(prompts[i:i + batch], answers[i:i + batch])):
            pos = torch.arange(len(pr) - 1, len(pr) - 1 + len(an))
            lg = logits[k, pos]
            tgt = torch.tensor(an)
            hit = bool((lg.argmax(-1) == tgt).all())
            right = lg.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
            other = lg.scatter(-1, tgt.unsqueeze(-1), float("-inf")).amax(-1)
            hits.append(1.0 if hit else 0.0)
            margins.append(float((right - other).min()))
    return sum(hits) / len(hits), sum(margins) / len(margins)


@torch.no_grad()
def greedy(cfg, p, prompt, max_new, stop=EOS):
    ids = list(prompt)
    for _ in range(max_new):
        nxt = int(forward(cfg, p, torch.tensor([ids]))[0, -1].argmax())
        if nxt == stop:
            break
        ids.append(nxt)
    return ids[len(prompt):]
