"""The synthetic corpus: made-up people with made-up facts, and the MUSE-format files built from it.

Every person has a name, a birth city, a birth year, a job, an employer and an instrument. Each person
gets one short biography (the "article") and four question/answer pairs. People are split into
forget / retain1 / retain2 / holdout; the target model trains on forget + retain1 + retain2, the retrain
model on retain1 + retain2, and the holdout people are never trained on (PrivLeak's non-members).
"""
import json
import os
import random

ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "kl",
          "st", "tr", "th", "sh", "ch", "h", "j", "w"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou", "ia", "y"]
CODAS = ["", "", "", "n", "r", "l", "s", "m", "th", "nd", "rk", "x"]
JOBS = ["baker", "carpenter", "pilot", "surgeon", "violin maker", "chemist", "librarian", "gardener",
        "sailor", "architect", "judge", "potter", "astronomer", "tailor", "fisherman", "teacher",
        "engineer", "painter", "miner", "glassblower", "beekeeper", "cartographer", "blacksmith",
        "journalist", "dentist", "weaver", "botanist", "clockmaker", "shepherd", "translator"]
INSTRUMENTS = ["flute", "cello", "harp", "drum", "oboe", "lute", "piano", "trumpet", "banjo", "organ",
               "viola", "horn", "zither", "tuba", "bagpipe", "guitar"]
COMPANY_KINDS = ["Mills", "Works", "Shipping", "Foundry", "Press", "Brewery", "Textiles", "Railways",
                 "Instruments", "Glass", "Mining", "Bank"]

# Article sentences; each person draws one template per slot, so articles differ in wording as well as facts.
OPENERS = [
    "{name} was born in {city} in {year}.",
    "In {year}, {name} was born in the town of {city}.",
    "{name} came into the world in {city} in the year {year}.",
]
JOB_LINES = [
    "{first} worked as a {job} for {company} for most of {pos} life.",
    "As an adult, {first} became a {job} at {company}.",
    "For many years {first} was employed by {company} as a {job}.",
]
HOBBY_LINES = [
    "In the evenings {first} played the {instrument} and taught it to the children of {city}.",
    "{first} was known across {city} for playing the {instrument} at every wedding.",
    "Friends remember that {first} never travelled without a {instrument}.",
]
CLOSERS = [
    "{first} {last} is still remembered in {city} as a kind and patient {job}.",
    "People in {city} still tell stories about the {job} who played the {instrument}.",
    "Today a small street in {city} carries the name {last}.",
]
# KnowMem prompts hold N_ICL examples then the question; training QA text comes in blocks of the same length,
# so that the answer positions seen in training are the ones the evaluation asks at.
N_ICL = 4
QA_PER_DOC = N_ICL + 1
QUESTIONS = [
    ("Where was {name} born?", "{city}"),
    ("In which year was {name} born?", "{year}"),
    ("What did {name} work as?", "a {job}"),
    ("Which company did {name} work for?", "{company}"),
    ("Which instrument did {name} play?", "the {instrument}"),
]


def word(rng, syllables):
    s = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(CODAS)
    return s.capitalize()


def unique_words(rng, n, lo, hi, taken):
    out = []
    while len(out) < n:
        w = word(rng, rng.randint(lo, hi))
        if w not in taken and 3 <= len(w) <= 11:
            taken.add(w)
            out.append(w)
    return out


def make_people(seed, n):
    rng = random.Random(seed)
    taken = set()
    firsts = unique_words(rng, n, 1, 2, taken)
    lasts = unique_words(rng, n, 2, 3, taken)
    cities = unique_words(rng, max(8, n // 4), 2, 3, taken)
    companies = [c + " " + rng.choice(COMPANY_KINDS) for c in unique_words(rng, max(8, n // 4), 2, 2, taken)]
    people = []
    for i in range(n):
        p = dict(first=firsts[i], last=lasts[i], city=rng.choice(cities), year=str(rng.randint(1820, 1990)),
                 job=rng.choice(JOBS), company=rng.choice(companies), instrument=rng.choice(INSTRUMENTS),
                 pos=rng.choice(["his", "her"]))
        p["name"] = p["first"] + " " + p["last"]
        p["tmpl"] = [rng.randrange(len(t)) for t in (OPENERS, JOB_LINES, HOBBY_LINES, CLOSERS)]
        people.append(p)
    return people


def article(p):
    parts = [t[i].format(**p) for t, i in zip((OPENERS, JOB_LINES, HOBBY_LINES, CLOSERS), p["tmpl"])]
    return " ".join(parts)


def qa_pairs(p):
    return [(q.format(**p), a.format(**p)) for q, a in QUESTIONS]


def qa_block(pairs):
    """The KnowMem prompt format (muse-spec §3.2), so that trained QA text looks like the evaluation prompts."""
    return "".join("Question: {}\nAnswer: {}\n\n".format(q, a) for q, a in pairs)


def split_people(people, sizes):
    out, i = {}, 0
    for name, n in sizes:
        out[name] = people[i:i + n]
        i += n
    return out


def qa_docs(people, rng, per_doc):
    """The QA text of a split: every pair once, shuffled across people, in blocks of per_doc pairs."""
    pairs = [qa for p in people for qa in qa_pairs(p)]
    rng.shuffle(pairs)
    return [qa_block(pairs[i:i + per_doc]) for i in range(0, len(pairs), per_doc)]


def write_muse(out_dir, splits, seed, prompt_words, n_qa, n_icl):
    """Writes verbmem/, knowmem/, privleak/ and raw/ (muse-spec §4 schemas) and returns the training texts."""
    rng = random.Random(seed + 1)

    def dump(rel, obj):
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(obj, f, indent=1, ensure_ascii=True)
            f.write("\n")

    verb = []
    for p in splits["forget"]:
        words = article(p).split(" ")
        verb.append({"prompt": " ".join(words[:prompt_words]) + " ", "gt": " ".join(words[prompt_words:])})
    dump("verbmem/forget.json", verb)
    for split, people in (("forget", splits["forget"]), ("retain", splits["retain2"])):
        pairs = [qa for p in people for qa in qa_pairs(p)]
        rng.shuffle(pairs)
        icl, items = pairs[:n_icl], pairs[n_icl:n_icl + n_qa]
        dump("knowmem/%s_qa.json" % split, [{"question": q, "answer": a} for q, a in items])
        dump("knowmem/%s_qa_icl.json" % split, [{"question": q, "answer": a} for q, a in icl])
    dump("privleak/forget.json", [article(p) for p in splits["forget"]])
    dump("privleak/retain.json", [article(p) for p in splits["retain2"]])
    dump("privleak/holdout.json", [article(p) for p in splits["holdout"]])
    texts = {}
    for split in ("forget", "retain1", "retain2", "holdout"):
        texts[split] = [article(p) for p in splits[split]] + qa_docs(splits[split], rng, QA_PER_DOC)
        dump("raw/%s.json" % split, texts[split])
    return texts
