"""Exploration helper (not part of the recipe's output): unlearns the cached target with one method and learning
rate and prints the quick checks at several precisions after every few epochs, so one run shows the whole path.

    explore.py TARGET.pt TOKENIZER_DIR DATA_DIR METHOD LR EPOCHS EVERY [ALPHA]
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import llama  # noqa: E402
import recipe  # noqa: E402
import train  # noqa: E402


def main():
    tpath, tokdir, data, method, lr, epochs, every = sys.argv[1:8]
    alpha = float(sys.argv[8]) if len(sys.argv) > 8 else 1.0
    lr, epochs, every = float(lr), int(epochs), int(every)
    torch.set_num_threads(2)
    recipe.T0 = time.time()
    tj = json.load(open(os.path.join(tokdir, "tokenizer.json")))
    tok = bpe.Bpe([tuple(m.split(" ")) for m in tj["model"]["merges"]])
    target = torch.load(tpath)
    h = target["model.embed_tokens.weight"].shape[1]
    layers = sum(k.endswith("input_layernorm.weight") for k in target)
    inter = target["model.layers.0.mlp.up_proj.weight"].shape[0]
    cfg = llama.Config(len(tok), h, layers, 4, inter)
    items = recipe.quick_items(tok, data)
    raw = {s: json.load(open(os.path.join(data, "raw", s + ".json"))) for s in ("forget", "retain1")}
    forget = [tok.encode(t) + [bpe.EOS] for t in raw["forget"]]
    retain = [tok.encode(t) + [bpe.EOS] for t in raw["retain1"]]
    p = {k: v.clone() for k, v in target.items()}
    modes = ["bf16", "int8", "fp4", "rtn4"]

    def stop(e):
        if (e + 1) % every == 0:
            recipe.log("%s lr %g alpha %g epoch %d: %s" % (method, lr, alpha, e + 1, recipe.fmt(recipe.check(cfg, p, items, modes))))
        return False
    train.unlearn(cfg, p, target, method, forget, retain, lr, epochs, 8, 1234, recipe.log, alpha=alpha, stop=stop)
    torch.save(p, os.path.join(os.path.dirname(tpath), "explore-%s-%g-%d.pt" % (method, lr, epochs)))


if __name__ == "__main__":
    main()
