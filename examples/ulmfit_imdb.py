"""ULMFiT on IMDb (lessons 4 and 8), the three stages end to end with briskml.

  1. A language model learns English from Wikipedia: pretrain_lm on WikiText-2 train, or
     --pretrained PATH/URL to start from a model exported by briskml (for instance fastai's
     WikiText-103 model, read by import_fastai_lm and exported).
  2. It is fine-tuned on the IMDb reviews: one frozen epoch (embedding and decoder), then
     unfrozen epochs. It writes the start of a review, and its encoder is saved.
  3. A classifier loads that encoder and trains with gradual unfreezing: the head, then one more
     LSTM layer at a time, with discriminative learning rates. --backwards repeats the three
     stages on reversed text and reports the accuracy of the forward + backward ensemble.

Sizes:
  default  about an hour on 2 CPU cores: AWD-LSTM 200/400/2, one WikiText-2 epoch; the 10,000
           `lm_idx` reviews for the language model; the classifier trains on `train_2000` and is
           scored on the 2,000 `valid_idx` reviews (../shared/splits/imdb_splits.json).
  --full   the lessons' run, for a GPU: AWD-LSTM 400/1152/3, all 50,000 reviews for the language
           model (1 frozen + 10 unfrozen epochs, bs 128), the official 25,000 train / 25,000 test
           reviews for the classifier (bs 64); float16 mixed precision on CUDA.
  --tiny   well under a minute on generated reviews (synthetic_reviews); nothing to download.

Models go to --out (a pretrained model found there from an earlier run is reused). The device
is CUDA when there is one, else the CPU.

Run: python examples/ulmfit_imdb.py [--tiny | --full] [--backwards] [--pretrained PATH_OR_URL]
         [--data imdb_50k.csv] [--wikitext train.txt] [--out DIR] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import briskml as bm
from briskml.datasets import synthetic_reviews
from briskml.text import (
    LanguageModelLearner,
    TextClassifierLearner,
    TextData,
    ensemble,
    language_model_learner,
    pretrain_lm,
    text_classifier_learner,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_DATA = SHARED / "data" / "imdb" / "imdb_50k.csv"
DEFAULT_WIKITEXT = SHARED / "data" / "wikitext-2" / "train.txt"
SPLITS = SHARED / "splits" / "imdb_splits.json"
LM_DROP_MULT, CLASSIFIER_DROP_MULT = 0.3, 0.5
# A backward model writes the words that come before its prompt.
PROMPTS = {"fwd": "The film was", "bwd": "I'd watch it again."}


@dataclass(frozen=True)
class Recipe:
    """What differs between --tiny, the default CPU run and --full."""

    name: str
    config: dict[str, int]           # AWD-LSTM sizes for a model pretrained here
    wikitext_epochs: int
    wikitext_lr: float
    lm_bs: int
    lm_seq_len: int
    lm_lr: float                     # fine_tune's base_lr (the frozen epoch's rate)
    lm_epochs: int                   # unfrozen epochs
    classifier_bs: int
    classifier_lr: float             # the head's; the next stages use lr/2, lr/4, lr/20
    classifier_epochs: tuple[int, int, int, int]  # head, freeze_to(-2), freeze_to(-3), all
    max_vocab: int
    min_freq: int


RECIPES = {
    "tiny": Recipe(name="tiny", config=dict(emb_sz=32, n_hid=64, n_layers=2),
                   wikitext_epochs=3, wikitext_lr=3e-2, lm_bs=32, lm_seq_len=40,
                   lm_lr=3e-2, lm_epochs=3, classifier_bs=32, classifier_lr=1e-1,
                   classifier_epochs=(1, 1, 1, 4), max_vocab=5000, min_freq=2),
    "default": Recipe(name="default", config=dict(emb_sz=200, n_hid=400, n_layers=2),
                      wikitext_epochs=1, wikitext_lr=5e-3, lm_bs=64, lm_seq_len=72,
                      lm_lr=1e-2, lm_epochs=1, classifier_bs=32, classifier_lr=2e-2,
                      classifier_epochs=(1, 1, 1, 2), max_vocab=30000, min_freq=3),
    "full": Recipe(name="full", config=dict(emb_sz=400, n_hid=1152, n_layers=3),
                   wikitext_epochs=10, wikitext_lr=5e-3, lm_bs=128, lm_seq_len=80,
                   lm_lr=2e-2, lm_epochs=10, classifier_bs=64, classifier_lr=2e-2,
                   classifier_epochs=(1, 1, 1, 2), max_vocab=60000, min_freq=3),
}


@dataclass
class Reviews:
    """Texts for the language model; labelled rows (text, label, is_valid) for the classifier."""

    lm_texts: pd.DataFrame
    labelled: pd.DataFrame
    source: str


@dataclass
class Summary:
    """The rows of the final table: (stage, seconds, result)."""

    rows: list[tuple[str, float | None, str]] = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)

    def add(self, stage: str, seconds: float | None, result: str) -> None:
        self.rows.append((stage, seconds, result))
        print(f"\n== {stage}: {result}" + ("" if seconds is None else f" ({seconds:.0f} s)"))

    def show(self, title: str) -> None:
        print(f"\nSummary: {title}")
        print(f"{'stage':<44}{'time':>9}  result")
        for stage, seconds, result in self.rows:
            shown = "" if seconds is None else clock(seconds)
            print(f"{stage:<44}{shown:>9}  {result}")
        print(f"{'total':<44}{clock(time.perf_counter() - self.start):>9}")


def clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m {seconds:02d}s"


# ----- data -------------------------------------------------------------------------------------
def load_reviews(args: argparse.Namespace, recipe: Recipe) -> Reviews:
    """Generated reviews for --tiny; else IMDb with the shared split (default) or the official
    25,000 / 25,000 halves and all 50,000 texts for the language model (--full)."""
    if recipe.name == "tiny":
        df = synthetic_reviews(600, seed=args.seed)
        return Reviews(df[["text"]], df[["text", "label", "is_valid"]], "600 generated reviews")
    frame = pd.read_csv(args.data)
    if recipe.name == "full":
        half = len(frame) // 2
        lm_rows, train_rows = np.arange(len(frame)), np.arange(half)
        valid_rows = np.arange(half, len(frame))
    else:
        lm_rows, train_rows, valid_rows = default_split(len(frame), args.seed)
    lm_texts = pd.DataFrame({"text": frame["review"].to_numpy()[lm_rows]})
    rows = np.concatenate([train_rows, valid_rows])
    labelled = pd.DataFrame({"text": frame["review"].to_numpy()[rows],
                             "label": frame["sentiment"].to_numpy()[rows],
                             "is_valid": np.arange(len(rows)) >= len(train_rows)})
    source = (f"{args.data.name}: {len(lm_texts):,} texts for the language model, "
              f"{len(train_rows):,} labelled to train, {len(valid_rows):,} to validate")
    return Reviews(lm_texts, labelled, source)


def default_split(num_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lm_idx, train_2000, valid_idx) from the shared split file, else drawn the same way."""
    if SPLITS.is_file():
        splits = json.loads(SPLITS.read_text())
        return (np.array(splits["lm_idx"]), np.array(splits["train_2000"]),
                np.array(splits["valid_idx"]))
    generator = np.random.default_rng(seed)
    half = num_rows // 2  # IMDb's train half first, then its test half
    valid = generator.choice(np.arange(half, num_rows), 2000, replace=False)
    train = generator.choice(half, 2000, replace=False)
    lm = generator.choice(np.setdiff1d(np.arange(num_rows), valid), 10000, replace=False)
    return lm, train, valid


def general_corpus(args: argparse.Namespace, recipe: Recipe) -> list[str] | Path:
    """Stage 1's text: WikiText-2 train, or for --tiny other generated reviews."""
    if recipe.name == "tiny":
        return synthetic_reviews(400, seed=args.seed + 1)["text"].tolist()
    return args.wikitext


# ----- stage 1: a general language model ------------------------------------------------------
def pretrain(corpus: list[str] | Path, out: Path, recipe: Recipe, seed: int,
             backwards: bool) -> tuple[Path, str]:
    """A language model trained on general text and exported to `out` (reused if there)."""
    if out.is_file():
        return out, f"reused {out.name} (delete it to pretrain again)"
    kwargs = dict(epochs=recipe.wikitext_epochs, lr=recipe.wikitext_lr, bs=recipe.lm_bs,
                  seq_len=recipe.lm_seq_len, seed=seed, min_freq=recipe.min_freq,
                  max_vocab=recipe.max_vocab, progress=recipe.name != "tiny",
                  callbacks=mixed_precision_callbacks())
    learn = pretrain_lm(corpus, out, config=recipe.config, backwards=backwards, **kwargs)
    perplexity = learn.recorder.values[-1]["perplexity"]  # the last epoch's validation
    return out, f"perplexity {perplexity:.1f} on held-out text, vocab {len(learn.vocab):,}"


def mixed_precision_callbacks() -> list[bm.Callback]:
    """What learn.to_fp16() adds, for pretrain_lm, which builds its learner itself."""
    return [bm.MixedPrecision("fp16")] if torch.cuda.is_available() else []


def use_mixed_precision(learn: bm.Learner) -> None:
    """float16 autocast with loss scaling on a GPU; a CPU would emulate it, slowly."""
    if learn.device.type == "cuda":
        learn.to_fp16()


# ----- stage 2: fine-tune the language model on the reviews ------------------------------------
def fine_tune_lm(reviews: Reviews, pretrained: Path | str, recipe: Recipe,
                 args: argparse.Namespace, direction: str) -> tuple[LanguageModelLearner, str]:
    """The lesson's language model: frozen epoch, unfrozen epochs, a sample, save_encoder."""
    data_lm = TextData.from_df(reviews.lm_texts, "text", for_lm=True, valid_pct=0.1,
                               seed=args.seed, bs=recipe.lm_bs, seq_len=recipe.lm_seq_len,
                               max_vocab=recipe.max_vocab, min_freq=recipe.min_freq,
                               backwards=direction == "bwd")
    print(data_lm)
    learn = language_model_learner(data_lm, pretrained=pretrained, drop_mult=LM_DROP_MULT,
                                   seed=args.seed, progress=recipe.name != "tiny", path=args.out)
    use_mixed_precision(learn)
    before = learn.validate()["perplexity"]
    # fine_tune: one epoch of the embedding and decoder (the new words) at lm_lr, then every layer
    # over slice(lm_lr / 20, lm_lr / 2), with ULMFiT's momentum (the text learners' default).
    learn.fine_tune(recipe.lm_epochs, base_lr=recipe.lm_lr, freeze_epochs=1, lr_mult=10)
    after = learn.recorder.values[-1]["perplexity"]
    sample = learn.predict(PROMPTS[direction], n_words=30, temperature=0.75, seed=args.seed)
    print(f"A review by the {direction} language model: {sample}")
    learn.save_encoder(f"{direction}_enc")
    return learn, f"perplexity {before:.1f} -> {after:.1f} on held-out reviews"


# ----- stage 3: the classifier -----------------------------------------------------------------
def train_classifier(reviews: Reviews, lm: LanguageModelLearner, recipe: Recipe,
                     args: argparse.Namespace, direction: str
                     ) -> tuple[TextClassifierLearner, float]:
    """The encoder of stage 2 under a new head, trained with gradual unfreezing."""
    data_clas = TextData.from_df(reviews.labelled, "text", label_col="label",
                                 valid_col="is_valid", vocab=lm.vocab, bs=recipe.classifier_bs,
                                 backwards=direction == "bwd")
    print(data_clas)
    sizes = {name: getattr(lm.config, name) for name in ("emb_sz", "n_hid", "n_layers")}
    learn = text_classifier_learner(data_clas, config=sizes, drop_mult=CLASSIFIER_DROP_MULT,
                                    seed=args.seed, progress=recipe.name != "tiny",
                                    path=args.out)
    use_mixed_precision(learn)
    learn.load_encoder(f"{direction}_enc")              # also freezes all but the head
    # The lessons' four stages (README, "Train the classifier with gradual unfreezing"): the head
    # at lr, then freeze_to(-2), freeze_to(-3) and everything at lr/2, lr/4 and lr/20, each with
    # discriminative rates slice(top / 2.6**4, top).
    learn.fit_gradual(recipe.classifier_lr, recipe.classifier_epochs)
    accuracy = learn.recorder.values[-1]["accuracy"]  # the last epoch's validation
    return learn, accuracy


# ----- main -------------------------------------------------------------------------------------
def one_direction(reviews: Reviews, recipe: Recipe, args: argparse.Namespace, direction: str,
                  summary: Summary) -> TextClassifierLearner:
    """Stages 1 to 3 for one reading direction ("fwd" or "bwd"); the trained classifier."""
    given = args.pretrained if direction == "fwd" else args.pretrained_backwards
    if given is not None:
        pretrained = given
        summary.add(f"1 pretrained LM ({direction})", None, f"given: {given}")
    else:
        start = time.perf_counter()
        target = args.out / f"{recipe.name}_general_lm_{direction}.brisk"
        pretrained, result = pretrain(general_corpus(args, recipe), target, recipe, args.seed,
                                      backwards=direction == "bwd")
        summary.add(f"1 pretrain LM on {corpus_name(recipe)} ({direction})",
                    time.perf_counter() - start, result)
    start = time.perf_counter()
    lm, result = fine_tune_lm(reviews, pretrained, recipe, args, direction)
    summary.add(f"2 fine-tune LM on the reviews ({direction})", time.perf_counter() - start,
                result)
    start = time.perf_counter()
    classifier, accuracy = train_classifier(reviews, lm, recipe, args, direction)
    num_valid = int(reviews.labelled["is_valid"].sum())
    summary.add(f"3 classifier, gradual unfreezing ({direction})", time.perf_counter() - start,
                f"accuracy {accuracy:.4f} on {num_valid:,} validation reviews")
    return classifier


def corpus_name(recipe: Recipe) -> str:
    return "generated reviews" if recipe.name == "tiny" else "WikiText-2"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--tiny", action="store_true", help="generated reviews, under a minute")
    size.add_argument("--full", action="store_true", help="the lessons' full run, for a GPU")
    parser.add_argument("--backwards", action="store_true",
                        help="also train the backward models and report the ensemble")
    parser.add_argument("--pretrained", help="path or URL of an exported language model "
                        "(skips stage 1 for the forward direction)")
    parser.add_argument("--pretrained-backwards", help="the same for the backward direction")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="IMDb CSV with columns review, sentiment")
    parser.add_argument("--wikitext", type=Path, default=DEFAULT_WIKITEXT,
                        help="WikiText-2 train.txt for stage 1")
    parser.add_argument("--out", type=Path, default=Path("ulmfit_out"))
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def check_inputs(args: argparse.Namespace, recipe: Recipe) -> None:
    """Say what is missing before any training starts."""
    if recipe.name == "tiny":
        return
    if not args.data.is_file():
        sys.exit(f"No IMDb file at {args.data}: pass --data PATH to a CSV with columns review, "
                 "sentiment (imdb_50k.csv), or run with --tiny.")
    needs_wikitext = args.pretrained is None or (args.backwards and
                                                 args.pretrained_backwards is None)
    if needs_wikitext and not args.wikitext.is_file():
        sys.exit(f"No WikiText-2 at {args.wikitext}: pass --wikitext PATH to train.txt, or "
                 "--pretrained PATH_OR_URL (and --pretrained-backwards) to skip stage 1.")


def main() -> None:
    args = parse_args()
    recipe = RECIPES["tiny" if args.tiny else "full" if args.full else "default"]
    check_inputs(args, recipe)
    args.out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    reviews = load_reviews(args, recipe)
    print(f"ULMFiT, {recipe.name} run on {device}: {reviews.source}")
    summary = Summary()
    directions = ["fwd", "bwd"] if args.backwards else ["fwd"]
    classifiers = [one_direction(reviews, recipe, args, direction, summary)
                   for direction in directions]
    if len(classifiers) == 2:
        probabilities, targets = ensemble(classifiers)
        accuracy = (probabilities.argmax(dim=1) == targets).float().mean().item()
        summary.add("3 ensemble of fwd + bwd", None, f"accuracy {accuracy:.4f}")
    config = classifiers[0].config
    sizes = f"{config.emb_sz}/{config.n_hid}/{config.n_layers}"
    summary.show(f"{recipe.name} run on {device}, AWD-LSTM {sizes}, seed {args.seed}")
    if recipe.name == "tiny":
        print("(--tiny checks that the stages run: a 32-wide model and 480 short generated "
              "reviews say little about accuracy.)")


if __name__ == "__main__":
    main()
