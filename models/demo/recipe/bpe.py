"""A small byte-level BPE tokenizer, trained on the corpus and written as a Hugging Face tokenizer.json.

Pre-tokenization is a regex split (SPLIT_PATTERN) followed by the ByteLevel byte-to-unicode map; every byte
has a token, so any text round-trips; merges are learned by the textbook BPE loop (most frequent adjacent
pair, ties broken by first appearance). Encoding applies merges by rank, which is what the Rust `tokenizers`
BPE model does, so ids computed here equal the ids Revenant's tokenizer computes (recipe.py checks a sample).
Ids 0, 1, 2 are <pad>, <s>, </s>; <s> is prepended on encode.
"""
import json
import os
import re
from collections import Counter

SPECIALS = ["<pad>", "<s>", "</s>"]
PAD, BOS, EOS = 0, 1, 2
# Pre-tokenization: a run of letters, of digits or of other symbols takes the one space that follows it
# (GPT-2 attaches the space in front instead). So "Answer: " at the end of a KnowMem prompt ends on the same
# token (": ") as "Answer: Paris" in training, and a prompt cut after a space is a token boundary.
SPLIT_PATTERN = r"[A-Za-z]+ ?|[0-9]+ ?|[^A-Za-z0-9\s]+ ?|\s+"
SPLIT = re.compile(SPLIT_PATTERN)


def byte_to_unicode():
    printable = [b for b in range(256) if ord("!") <= b <= ord("~") or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    out, n = {}, 0
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


B2U = byte_to_unicode()
U2B = {u: b for b, u in B2U.items()}


def pieces(text):
    return ["".join(B2U[b] for b in m.encode("utf-8")) for m in SPLIT.findall(text)]


class Bpe:
    def __init__(self, merges):
        self.merges = merges
        self.rank = {m: i for i, m in enumerate(merges)}
        self.vocab = {s: i for i, s in enumerate(SPECIALS)}
        for b in range(256):
            self.vocab[B2U[b]] = len(self.vocab)
        for a, b in merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.inv = {i: s for s, i in self.vocab.items()}
        self.cache = {}

    @staticmethod
    def train(texts, vocab_size):
        counts = Counter(p for t in texts for p in pieces(t))
        words = {w: list(w) for w in counts}
        merges = []
        while len(SPECIALS) + 256 + len(merges) < vocab_size:
            pairs, first = Counter(), {}
            for w, syms in words.items():
                for i in range(len(syms) - 1):
                    pr = (syms[i], syms[i + 1])
                    pairs[pr] += counts[w]
                    first.setdefault(pr, len(first))
            if not pairs:
                break
            best = max(pairs, key=lambda pr: (pairs[pr], -first[pr]))
            if pairs[best] < 2:
                break
            merges.append(best)
            for w, syms in words.items():
                i, out = 0, []
                while i < len(syms):
                    if i < len(syms) - 1 and (syms[i], syms[i + 1]) == best:
                        out.append(syms[i] + syms[i + 1])
                        i += 2
                    else:
                        out.append(syms[i])
                        i += 1
                words[w] = out
        return Bpe(merges)

    def _word(self, w):
        if w in self.cache:
            return self.cache[w]
        syms = list(w)
        while len(syms) > 1:
            ranked = [(self.rank.get((syms[i], syms[i + 1]), 1 << 30), i) for i in range(len(syms) - 1)]
            r, i = min(ranked)
            if r == 1 << 30:
                break
            syms = syms[:i] + [syms[i] + syms[i + 1]] + syms[i + 2:]
        ids = [self.vocab[s] for s in syms]
        self.cache[w] = ids
        return ids

    def encode(self, text, bos=True):
        ids = [BOS] if bos else []
        for p in pieces(text):
            ids.extend(self._word(p))
        return ids

    def decode(self, ids):
        data = bytes(U2B[c] for i in ids if i >= len(SPECIALS) for c in self.inv[i])
        return data.decode("utf-8", errors="replace")

    def __len__(self):
        return len(self.vocab)

    def save(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        added = [dict(id=i, content=s, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
                 for i, s in enumerate(SPECIALS)]
        byte_level = dict(type="ByteLevel", add_prefix_space=False, trim_offsets=True, use_regex=False)
        split = {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False}
        bos = [{"SpecialToken": {"id": "<s>", "type_id": 0}}]
        tj = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [split, byte_level]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": bos + [{"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": bos + [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {"<s>": {"id": "<s>", "ids": [BOS], "tokens": ["<s>"]}}},
            "decoder": byte_level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": self.vocab, "merges": [a + " " + b for a, b in self.merges]},
        }
        cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
               "pad_token": "<pad>", "clean_up_tokenization_spaces": False, "model_max_length": 1000000,
               "tokenizer_class": "PreTrainedTokenizerFast"}
        with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
            json.dump(tj, f, ensure_ascii=False)
        with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
