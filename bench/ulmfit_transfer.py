"""ULMFiT's ablation at CPU size: does a pretrained, fine-tuned language model make the IMDb
classifier better with few labels? Transfer vs from scratch vs TF-IDF + logistic regression.

Fixed split (../shared/splits/imdb_splits.json): validation = `valid_idx` (2,000 reviews of the
official test half); labelled training sets `train_100`, `train_500`, `train_2000` (nested);
`lm_idx` (10,000 reviews, labels unused) for language-model fine-tuning.

Stages (each kept under bench/artifacts/, so a re-run reuses what is done):
1. pretrain_lm on WikiText-2 train (articles), small AWD-LSTM (emb 200, hid 400, 2 layers).
2. IMDb language model on the `lm_idx` reviews from the WikiText-2 model (vocabulary mapped),
   trained unfrozen with one cycle (`--lm-frozen-epochs N` runs `fine_tune` instead: N epochs of
   the embedding + decoder at 2 * lm_lr, then every layer at lm_lr); the encoder is saved.
3. For each label budget: (a) a classifier from scratch, (b) the same classifier with the
   fine-tuned encoder and gradual unfreezing; accuracy on the 2,000 validation reviews.
4. TF-IDF (1-2 grams, min_df 2, sublinear tf) + LogisticRegression(C=4) on the same rows, with
   the peers virtualenv (scikit-learn is not a briskml dependency).
With `--backwards`, stages 1 and 2 are repeated with every document read right to left, stage 3
adds a backward transfer classifier (same recipe), and the forward + backward ensemble (their
averaged probabilities, the paper's headline result) is scored too; this about doubles the
language-model time.

Sizes are chosen for 2 CPU cores (about 1 h 50 min in all): the issue's "small" configuration,
one WikiText-2 epoch, a 15,000-word vocabulary (the decoder is most of a small model's cost),
eight unfrozen IMDb LM epochs (perplexity 67.5 after four, 60.3 after eight; a frozen epoch
costs nearly as much as an unfrozen one, since the gradient still runs back through the LSTMs
to the embedding, and a language model pretrained for one epoch has little to protect), bs 32
for the classifiers, and more epochs for smaller label sets so every run takes at least ~60
optimizer steps. After each classifier epoch only `--check-rows` validation reviews are scored
(scoring all 2,000 every epoch would double the run); the reported accuracy is on all 2,000. See
`--help` for the knobs.

Usage: python bench/ulmfit_transfer.py [--wt2-epochs 1] [--lm-epochs 8] [--sizes 100 500 2000]
                                      [--config 200,400,2] [--backwards] [--seeds 42]
                                      [--results PATH]
`--config` sizes every model of the run (emb_sz,n_hid,n_layers); a size other than the small
default caches its models under names ending in `_awd<emb>x<hid>x<layers>`.
Writes bench/results/ulmfit_transfer.json. Targets (issue 6): transfer beats scratch at every
size, by >= 15 points at 100 labels, and beats TF-IDF + LR at 500 and 2,000 labels.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from machine import cpu_info

from briskml.callbacks import Callback
from briskml.persist import write_json

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IMDB = SHARED / "data" / "imdb" / "imdb_50k.csv"
WIKI_TRAIN = SHARED / "data" / "wikitext-2" / "train.txt"
SPLITS = SHARED / "splits" / "imdb_splits.json"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
ARTIFACTS = Path(__file__).parent / "artifacts"
RESULTS = Path(__file__).parent / "results" / "ulmfit_transfer.json"
SMALL = {"emb_sz": 200, "n_hid": 400, "n_layers": 2}
SEED = 42
# Epochs per label budget: (scratch one-cycle epochs, fit_gradual stages) - at least ~60 steps.
EPOCHS = {100: (20, (4, 4, 4, 8)), 500: (10, (2, 2, 2, 4)), 2000: (8, (1, 1, 2, 4))}

TFIDF_SNIPPET = """
import json, sys, time
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
df = pd.read_csv(sys.argv[1])
splits = json.load(open(sys.argv[2]))
valid = df.iloc[splits["valid_idx"]]
out = {}
for size in json.loads(sys.argv[3]):
    train = df.iloc[splits[f"train_{size}"]]
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          LogisticRegression(C=4, max_iter=2000))
    start = time.perf_counter()
    model.fit(train["review"], train["sentiment"])
    seconds = time.perf_counter() - start
    accuracy = float((model.predict(valid["review"]) == valid["sentiment"]).mean())
    out[str(size)] = {"accuracy": accuracy, "fit_seconds": seconds}
print(json.dumps(out))
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def awd_sizes(text: str) -> dict:
    """`--config 300,800,2` -> the AWD-LSTM's emb_sz, n_hid and n_layers."""
    try:
        emb_sz, n_hid, n_layers = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--config takes emb_sz,n_hid,n_layers as three integers, e.g. 300,800,2; got {text!r}"
        ) from None
    return {"emb_sz": emb_sz, "n_hid": n_hid, "n_layers": n_layers}


def config_tag(config: dict) -> str:
    """Cache-name suffix of a model size; empty for the small default, so its caches keep their
    names."""
    return "" if config == SMALL else "_awd" + "x".join(str(v) for v in config.values())


def load_imdb() -> tuple[pd.DataFrame, dict]:
    frame = pd.read_csv(IMDB)
    return frame, json.loads(SPLITS.read_text())


# ----- stage 1: WikiText-2 ----------------------------------------------------------------------
def pretrained_wikitext(args: argparse.Namespace, backwards: bool = False) -> tuple[Path, dict]:
    from briskml.text import pretrain_lm
    from briskml.text.pretrain import read_corpus

    direction = "_bwd" if backwards else ""
    name = (f"wt2_lm_{args.wt2_epochs}ep_{args.wt2_fraction:g}_{args.max_vocab}"
            f"{config_tag(args.config)}{direction}.brisk")
    path = ARTIFACTS / name
    record = path.with_suffix(".json")
    if path.exists() and record.exists():
        log(f"reusing {path}")
        return path, json.loads(record.read_text())
    articles = read_corpus(WIKI_TRAIN)
    articles = articles[:max(1, round(len(articles) * args.wt2_fraction))]
    log(f"stage 1: pretraining on {len(articles)} WikiText-2 articles{direction}")
    start = time.perf_counter()
    learn = pretrain_lm(articles, path, config=args.config, epochs=args.wt2_epochs, lr=args.wt2_lr,
                        bs=64, seq_len=72, seed=SEED, min_freq=3, max_vocab=args.max_vocab,
                        backwards=backwards, progress=False)
    info = {"seconds": time.perf_counter() - start, "epochs": args.wt2_epochs,
            "articles": len(articles), "fraction_of_train_articles": args.wt2_fraction,
            "lr": args.wt2_lr, "vocab_size": len(learn.vocab),
            "train_tokens": learn.data.train.num_tokens, "history": learn.recorder.values,
            "valid": learn.validate()}
    write_json(record, info)  # atomic: a run stopped mid-write leaves no half-written cache
    log(f"WikiText-2 model: {info['valid']} in {info['seconds']:.0f} s")
    return path, info


# ----- stage 2: IMDb language model -------------------------------------------------------------
def imdb_language_model(frame: pd.DataFrame, splits: dict, pretrained: Path,
                        args: argparse.Namespace, backwards: bool = False):
    from briskml.text import TextData, language_model_learner

    rows = splits["lm_idx"][:args.lm_docs]
    texts = frame.iloc[rows][["review"]].rename(columns={"review": "text"})
    data_lm = TextData.from_df(texts.reset_index(drop=True), "text", for_lm=True,
                               valid_pct=0.1, seed=SEED, bs=64, seq_len=72,
                               max_vocab=args.max_vocab, backwards=backwards)
    direction = "_bwd" if backwards else ""
    encoder = ARTIFACTS / "models" / (f"imdb_enc_{args.wt2_epochs}_{args.wt2_fraction:g}_"
                                      f"{args.lm_frozen_epochs}_{args.lm_epochs}_{args.lm_lr:g}_"
                                      f"{args.lm_docs}_{args.max_vocab}"
                                      f"{config_tag(args.config)}{direction}.safetensors")
    record = encoder.with_suffix(".json")
    if encoder.exists() and record.exists():
        log(f"reusing {encoder}")
        return data_lm, encoder, json.loads(record.read_text())
    log(f"stage 2: IMDb language model{direction} ({data_lm})")
    learn = language_model_learner(data_lm, pretrained=pretrained, drop_mult=0.3, seed=SEED,
                                   progress=False, path=ARTIFACTS)
    start = time.perf_counter()
    before = learn.validate()
    if args.lm_frozen_epochs:   # the new words first at 2 * lm_lr, then every layer at lm_lr
        learn.fine_tune(args.lm_epochs, base_lr=2 * args.lm_lr,
                        freeze_epochs=args.lm_frozen_epochs, lr_mult=1)
    else:
        learn.unfreeze()
        learn.fit_one_cycle(args.lm_epochs, args.lm_lr)
    info = {"seconds": time.perf_counter() - start, "vocab_size": len(data_lm.vocab),
            "documents": len(rows),
            "train_tokens": data_lm.train.num_tokens, "valid_before_fine_tuning": before,
            "valid": learn.validate(), "frozen_epochs": args.lm_frozen_epochs,
            "unfrozen_epochs": args.lm_epochs, "unfrozen_lr": args.lm_lr,
            "history": learn.recorder.values,
            "sample": learn.predict("I liked this movie because", n_words=30, seed=0,
                                    temperature=0.75)}
    learn.save_encoder(encoder.stem)
    write_json(record, info)  # atomic: a run stopped mid-write leaves no half-written cache
    log(f"IMDb language model: {info['valid']} in {info['seconds']:.0f} s")
    return data_lm, encoder, info


# ----- stage 3: classifiers ---------------------------------------------------------------------
def classifier_data(frame: pd.DataFrame, splits: dict, size: int, vocab):
    """Labelled data: the `train_<size>` rows and every validation row, tokenised once."""
    from briskml.text import TextData

    train_rows, valid_rows = splits[f"train_{size}"], splits["valid_idx"]
    rows = frame.iloc[train_rows + valid_rows]
    labelled = pd.DataFrame({"text": rows["review"].to_numpy(),
                             "label": rows["sentiment"].to_numpy(),
                             "is_valid": [False] * len(train_rows) + [True] * len(valid_rows)})
    return TextData.from_df(labelled, "text", label_col="label", valid_col="is_valid",
                            vocab=vocab, bs=32)


def variant(data, num_valid: int | None = None, backwards: bool = False):
    """The same tokens with only the first `num_valid` validation rows (the per-epoch check; the
    final accuracy uses every row) and/or read right to left: nothing is tokenised again."""
    from briskml.text import TextData

    settings = dataclasses.replace(data.settings, backwards=backwards)
    return TextData(data.ids, data.offsets, data.vocab, data.tokenizer, data.train_docs,
                    data.valid_docs[:num_valid], data.labels, data.classes, settings)


class EpochHistory(Callback):
    """Every epoch's recorder row across several fits: the Recorder starts afresh at each fit,
    so after fit_gradual it holds only the last stage's epochs."""

    order = 60  # after the Recorder (50) has stored the epoch's row

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def after_epoch(self) -> None:
        self.rows.append(self.learn.recorder.values[-1])


def run_classifier(data, full_valid, size: int, encoder: Path | None, seed: int,
                   config: dict):
    """Train one classifier; (its figures, the learner)."""
    from briskml.text import text_classifier_learner

    scratch_epochs, stages = EPOCHS[size]
    history = EpochHistory()
    learn = text_classifier_learner(data, config=config, drop_mult=0.5, seed=seed,
                                    progress=False, path=ARTIFACTS, callbacks=[history])
    start = time.perf_counter()
    if encoder is None:
        learn.fit_one_cycle(scratch_epochs, 2e-2)   # text learners: moms (0.8, 0.7, 0.8)
        recipe = f"fit_one_cycle({scratch_epochs}, 2e-2, moms=(0.8, 0.7))"
    else:
        learn.load_encoder(encoder)
        learn.fit_gradual(lr=2e-2, epochs=stages)
        recipe = f"load_encoder + fit_gradual(lr=2e-2, epochs={stages})"
    seconds = time.perf_counter() - start
    result = learn.validate(full_valid)
    return {"accuracy": result["accuracy"], "valid_loss": result["valid_loss"],
            "seconds": seconds, "recipe": recipe, "seed": seed,
            "accuracy_per_epoch_on_check_rows": [round(row.get("accuracy", float("nan")), 4)
                                                 for row in history.rows]}, learn


def ensemble_accuracy(forward, backward, full_valid, full_valid_backward) -> float:
    """Accuracy of the forward + backward classifiers' averaged probabilities (the paper's
    ensemble) on every validation review."""
    from briskml.text import ensemble

    probabilities, targets = ensemble([forward, backward], ds=[full_valid, full_valid_backward])
    return float((probabilities.argmax(dim=1) == targets).float().mean())


def tfidf(sizes: list[int]) -> dict | None:
    if not PEERS_PYTHON.exists():
        return None
    result = subprocess.run([str(PEERS_PYTHON), "-c", TFIDF_SNIPPET, str(IMDB), str(SPLITS),
                             json.dumps(sizes)], capture_output=True, text=True, check=True,
                            timeout=3600)
    return json.loads(result.stdout.strip().splitlines()[-1])


# ----- main -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=awd_sizes, default=SMALL,
                        help="AWD-LSTM size as emb_sz,n_hid,n_layers (default 200,400,2: the "
                             "small configuration); one size for every model of the run")
    parser.add_argument("--wt2-epochs", type=int, default=1)
    parser.add_argument("--wt2-lr", type=float, default=5e-3)
    parser.add_argument("--wt2-fraction", type=float, default=1.0,
                        help="share of the WikiText-2 train articles to pretrain on")
    parser.add_argument("--lm-docs", type=int, default=10000,
                        help="IMDb reviews (from lm_idx) for language-model fine-tuning")
    parser.add_argument("--lm-frozen-epochs", type=int, default=0,
                        help="IMDb LM epochs training only the embedding + decoder (fine_tune, "
                             "lr 2 * --lm-lr)")
    parser.add_argument("--lm-epochs", type=int, default=8, help="unfrozen IMDb LM epochs")
    parser.add_argument("--lm-lr", type=float, default=5e-3, help="unfrozen IMDb LM lr")
    parser.add_argument("--max-vocab", type=int, default=15000)
    parser.add_argument("--check-rows", type=int, default=200,
                        help="validation rows checked after each classifier epoch (the final "
                             "accuracy uses all 2,000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[SEED])
    parser.add_argument("--backwards", action="store_true",
                        help="also pretrain and fine-tune backward language models, train a "
                             "backward transfer classifier and report the forward + backward "
                             "ensemble (the paper's result; doubles the language-model time)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="where to write the figures (default: %(default)s)")
    args = parser.parse_args()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    load_start, wall_start = os.getloadavg(), time.perf_counter()
    frame, splits = load_imdb()
    wikitext, wikitext_info = pretrained_wikitext(args)
    data_lm, encoder, lm_info = imdb_language_model(frame, splits, wikitext, args)
    backward_info = {}
    if args.backwards:
        wikitext_bwd, backward_info["wikitext2_pretraining"] = pretrained_wikitext(args, True)
        data_lm_bwd, encoder_bwd, backward_info["imdb_language_model"] = imdb_language_model(
            frame, splits, wikitext_bwd, args, backwards=True)
    classifiers: dict[str, dict] = {}
    if args.backwards and data_lm_bwd.vocab != data_lm.vocab:
        raise RuntimeError("The backward language model's vocabulary differs from the forward "
                           "one's, so the classifiers cannot share their tokens.")
    for size in args.sizes:
        full = classifier_data(frame, splits, size, data_lm.vocab)
        # (name, data with the check rows, every validation row, encoder) for each classifier
        checked = variant(full, args.check_rows)
        arms = [("scratch", checked, full.valid, None),
                ("transfer", checked, full.valid, encoder)]
        if args.backwards:
            full_bwd = variant(full, backwards=True)
            arms.append(("transfer_backward", variant(full, args.check_rows, backwards=True),
                         full_bwd.valid, encoder_bwd))
        for seed in args.seeds:
            records, learners = {}, {}
            for name, data, full_valid, source in arms:
                records[name], learners[name] = run_classifier(data, full_valid, size, source,
                                                               seed, args.config)
            if args.backwards:
                records["transfer_ensemble"] = {
                    "accuracy": ensemble_accuracy(learners["transfer"],
                                                  learners["transfer_backward"], full.valid,
                                                  full_bwd.valid),
                    "seed": seed, "seconds": records["transfer"]["seconds"]
                    + records["transfer_backward"]["seconds"]}
            for name, run in records.items():
                classifiers.setdefault(str(size), {}).setdefault(name, []).append(run)
                log(f"{size} labels, {name}, seed {seed}: accuracy {run['accuracy']:.4f} in "
                    f"{run['seconds']:.0f} s")
    baseline = tfidf(args.sizes)
    result = {
        "command": "python bench/ulmfit_transfer.py " + " ".join(sys.argv[1:]),
        "config": {"awd_lstm": args.config, "wt2_epochs": args.wt2_epochs, "wt2_lr": args.wt2_lr,
                   "wt2_fraction": args.wt2_fraction, "imdb_lm_docs": args.lm_docs,
                   "lm_epochs": {"frozen": args.lm_frozen_epochs, "unfrozen": args.lm_epochs},
                   "lm_unfrozen_lr": args.lm_lr,
                   "imdb_max_vocab": args.max_vocab, "classifier_bs": 32,
                   "classifier_check_rows_per_epoch": args.check_rows,
                   "classifier_epochs": {str(k): v for k, v in EPOCHS.items()},
                   "drop_mult": {"lm": 0.3, "classifier": 0.5}, "backwards": args.backwards},
        "wikitext2_pretraining": wikitext_info, "imdb_language_model": lm_info,
        "backward_models": backward_info or None,
        "classifiers": classifiers, "tfidf_logreg": baseline,
        "summary": summarise(classifiers, baseline),
        "wall_seconds_this_run": time.perf_counter() - wall_start,
        "machine": {"cpu": cpu_info(),
                    "python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.results, result)
    print(json.dumps(result["summary"], indent=2))


def summarise(classifiers: dict, baseline: dict | None) -> dict:
    """Mean accuracy per size and method, and whether each target is met."""
    summary = {}
    for size, methods in classifiers.items():
        row = {name: round(sum(r["accuracy"] for r in runs) / len(runs), 4)
               for name, runs in methods.items()}
        if baseline and size in baseline:
            row["tfidf_logreg"] = round(baseline[size]["accuracy"], 4)
        gain = row.get("transfer", 0) - row.get("scratch", 0)
        row["transfer_minus_scratch_points"] = round(100 * gain, 1)
        if "transfer_ensemble" in row:
            row["ensemble_minus_scratch_points"] = round(
                100 * (row["transfer_ensemble"] - row.get("scratch", 0)), 1)
        row["target_transfer_beats_scratch"] = gain > (0.15 if size == "100" else 0.0)
        if size in ("500", "2000") and "tfidf_logreg" in row:
            row["target_transfer_beats_tfidf"] = row["transfer"] > row["tfidf_logreg"]
            if "transfer_ensemble" in row:
                row["target_ensemble_beats_tfidf"] = (row["transfer_ensemble"]
                                                      > row["tfidf_logreg"])
        summary[size] = row
    return summary


if __name__ == "__main__":
    main()
