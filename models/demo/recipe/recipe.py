"""Builds the bundled demo (models/demo): data, tokenizer, target, retrain and six unlearned models.

    /usr/bin/python3 models/demo/recipe/recipe.py [--out models/demo] [--work /tmp/demo-work]

Everything is seeded; see ../RESULTS.md for the settings tried and the numbers they gave.
"""
import argparse
import json
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import corpus  # noqa: E402
import llama  # noqa: E402
import quant  # noqa: E402
import train  # noqa: E402

METHODS = ["ga", "ga_gdr", "ga_klr", "npo", "npo_gdr", "npo_klr"]


def args():
    a = argparse.ArgumentParser()
    a.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    a.add_argument("--work", default="/tmp/revenant-demo-work", help="cache of trained fp32 weights")
    a.add_argument("--seed", type=int, default=1234)
    a.add_argument("--people", default="12,14,14,12", help="forget,retain1,retain2,holdout")
    a.add_argument("--vocab", type=int, default=1600)
    a.add_argument("--hidden", type=int, default=128)
    a.add_argument("--layers", type=int, default=3)
    a.add_argument("--heads", type=int, default=4)
    a.add_argument("--inter", type=int, default=256)
    a.add_argument("--epochs", type=int, default=36)
    a.add_argument("--lr", type=float, default=4e-3)
    a.add_argument("--batch", type=int, default=8)
    a.add_argument("--u-lr", type=float, default=5e-4, help="unlearning learning rate (GA, NPO)")
    a.add_argument("--u-lr-reg", type=float, default=2e-4, help="unlearning learning rate of GDR/KLR (default --u-lr)")
    a.add_argument("--u-epochs", type=int, default=4, help="unlearning epochs (GA, NPO)")
    a.add_argument("--u-epochs-reg", type=int, default=12, help="unlearning epochs of GDR/KLR (default --u-epochs)")
    a.add_argument("--u-batch", type=int, default=8)
    a.add_argument("--methods", default=",".join(METHODS))
    a.add_argument("--no-save", action="store_true", help="explore: print the quick checks, write no models")
    a.add_argument("--n-qa", type=int, default=50)
    a.add_argument("--skip-retrain", action="store_true")
    a.add_argument("--modes", default="bf16,fp4,rtn4", help="precisions of the quick checks")
    a.add_argument("--stop-kf", type=float, default=0.3,
                   help="stop unlearning after the first epoch whose teacher-forced KnowMem-forget is at most this")
    a.add_argument("--stop-verb", type=float, default=None,
                   help="stop unlearning (GDR/KLR) after the first epoch whose teacher-forced VerbMem proxy is at most this")
    a.add_argument("--threads", type=int, default=2)
    return a.parse_args()


def log(msg):
    print("[%7.1fs] %s" % (time.time() - T0, msg), flush=True)


def quick_items(tok, data_dir):
    """Token ids of the demo's VerbMem and KnowMem items, as Revenant builds its prompts."""
    def load(rel):
        with open(os.path.join(data_dir, rel)) as f:
            return json.load(f)
    verb = [(tok.encode(v["prompt"]), tok.encode(v["gt"], bos=False)) for v in load("verbmem/forget.json")]
    know = {}
    for split in ("forget", "retain"):
        icl = load("knowmem/%s_qa_icl.json" % split)
        pre = "".join("Question: %s\nAnswer: %s\n\n" % (x["question"], x["answer"]) for x in icl)
        know[split] = [(tok.encode(pre + "Question: %s\nAnswer: " % x["question"]), tok.encode(x["answer"], bos=False))
                       for x in load("knowmem/%s_qa.json" % split)]
    return verb, know


@torch.no_grad()
def verb_acc(cfg, p, verb):
    """Teacher-forced share of gt tokens that are the argmax (a proxy of VerbMem)."""
    ok = tot = 0
    for pr, gt in verb:
        ids = torch.tensor([pr + gt])
        pred = llama.forward(cfg, p, ids[:, :-1])[0, len(pr) - 1:].argmax(-1)
        ok += int((pred == torch.tensor(gt)).sum())
        tot += len(gt)
    return ok / tot


def check(cfg, p, items, modes=("bf16", "int8", "fp4", "nf4", "rtn4")):
    modes = MODES if modes is None else modes
    verb, know = items
    out = {}
    for m in modes:
        q = quant.quantized(p, m)
        kf, mf = train.answer_hits(cfg, q, *zip(*know["forget"]))
        kr, mr = train.answer_hits(cfg, q, *zip(*know["retain"]))
        out[m] = (verb_acc(cfg, q, verb), kf, kr, mf, mr)
    return out


def fmt(res):
    return "  ".join("%s v%.2f kf%.2f kr%.2f (m %.1f/%.1f)" % ((m,) + r) for m, r in res.items())


def main():
    global T0
    T0 = time.time()
    a = args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.work, exist_ok=True)
    sizes = [int(x) for x in a.people.split(",")]
    people = corpus.make_people(a.seed, sum(sizes))
    splits = corpus.split_people(people, list(zip(["forget", "retain1", "retain2", "holdout"], sizes)))
    data_dir = os.path.join(a.out, "data")
    texts = corpus.write_muse(data_dir, splits, a.seed, prompt_words=8, n_qa=a.n_qa, n_icl=corpus.N_ICL)
    tok = bpe.Bpe.train([t for v in texts.values() for t in v], a.vocab)
    tok_dir = os.path.join(a.work, "tokenizer")
    tok.save(tok_dir)
    log("data in %s; tokenizer %d tokens" % (data_dir, len(tok)))
    cfg = llama.Config(len(tok), a.hidden, a.layers, a.heads, a.inter)
    items = quick_items(tok, data_dir)

    def docs(split_names, epoch):
        rng = random.Random(a.seed * 1000 + epoch)
        out = []
        for s in split_names:
            ppl = splits[s]
            out += [corpus.article(p) for p in ppl] + corpus.qa_docs(ppl, rng, corpus.QA_PER_DOC)
        return [tok.encode(t) + [bpe.EOS] for t in out]

    key = "h%d-l%d-i%d-v%d-e%d-lr%g-b%d-s%d-p%s" % (a.hidden, a.layers, a.inter, len(tok), a.epochs, a.lr, a.batch,
                                                   a.seed, a.people.replace(",", "."))
    models = {}
    global MODES
    MODES = a.modes.split(",")
    todo = [("target", ["forget", "retain1", "retain2"])] + ([] if a.skip_retrain else [("retrain", ["retain1", "retain2"])])
    for name, spl in todo:
        path = os.path.join(a.work, "%s-%s.pt" % (name, key))
        if os.path.exists(path):
            models[name] = torch.load(path)
            log("%s: cached %s" % (name, path))
        else:
            t0 = time.time()
            g = torch.Generator().manual_seed(a.seed + (name == "retrain"))
            p = llama.init_params(cfg, g)
            def every(e, q=p):
                if (e + 1) % 4 == 0:
                    log("   %s after epoch %d: %s" % (name, e, fmt(check(cfg, q, items, ["bf16"]))))
            models[name] = train.train_lm(cfg, p, lambda e: docs(spl, e), a.epochs, a.lr, a.batch, a.seed,
                                          lambda m: log(name + " " + m), after_epoch=every)
            torch.save(models[name], path)
            log("%s trained in %.0f s" % (name, time.time() - t0))
        log("%s: %s" % (name, fmt(check(cfg, models[name], items, None))))
    forget = [tok.encode(t) + [bpe.EOS] for t in texts["forget"]]
    retain = [tok.encode(t) + [bpe.EOS] for t in texts["retain1"]]
    target = models["target"]
    for method in [m for m in a.methods.split(",") if m]:
        reg = "_" in method
        lr = a.u_lr_reg if reg and a.u_lr_reg is not None else a.u_lr
        ep = a.u_epochs_reg if reg and a.u_epochs_reg is not None else a.u_epochs
        t0 = time.time()
        p = {k: v.clone() for k, v in target.items()}
        stop = None
        if reg and (a.stop_kf is not None or a.stop_verb is not None):
            def stop(e, q=p):
                b = quant.quantized(q, "bf16")
                kf = train.answer_hits(cfg, b, *zip(*items[1]["forget"]))[0]
                v = verb_acc(cfg, b, items[0])
                log("   %s epoch %d: verb %.2f kf %.2f" % (method, e, v, kf))
                return (a.stop_kf is not None and kf <= a.stop_kf) or (a.stop_verb is not None and v <= a.stop_verb)
        models[method] = train.unlearn(cfg, p, target, method, forget, retain, lr, ep, a.u_batch, a.seed, log,
                                       stop=stop)
        res = check(cfg, models[method], items, None)
        log("%s lr %g epochs %d (%.0f s): %s" % (method, lr, ep, time.time() - t0, fmt(res)))
        for m in [x for x in MODES if x != "bf16"]:
            log("   same bucket vs target at %s: %.3f" % (m, quant.same_bucket(target, models[method], m)))
    if not a.no_save:
        for name, p in models.items():
            llama.save(os.path.join(a.out, name), cfg, p, tok_dir)
        log("saved %d models to %s" % (len(models), a.out))
    log("total %.0f s" % (time.time() - T0))


if __name__ == "__main__":
    main()
