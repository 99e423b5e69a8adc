"""The text part of `make demo`: lesson 3's ULMFiT on synthetic movie reviews.

The lessons use IMDb, but its reviews may not be redistributed (their text belongs to IMDb), so
briskml does not bundle them; the demo trains on reviews generated from a fixed grammar by
`briskml.datasets.synthetic_reviews`. A language model is fine-tuned on every review, its encoder
starts a sentiment classifier, and the classifier is trained as the lesson does: lr_find, the head
alone for an epoch, then every layer with fit_one_cycle. The model is CPU-sized (emb_sz 64,
n_hid 128, 2 layers) so the whole part takes about a minute on two cores.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from briskml.cli.demos.common import DemoResult, save_plots
from briskml.datasets import synthetic_reviews
from briskml.text.classifier import TextClassifierLearner, text_classifier_learner
from briskml.text.data import TextData
from briskml.text.lm_learner import LanguageModelLearner, language_model_learner

CONFIG = {"emb_sz": 64, "n_hid": 128, "n_layers": 2}
NEW_REVIEWS = ["I loved this film: the acting was brilliant and the ending was moving.",
               "What a boring, predictable movie. The script was awful. Skip this one!"]


@dataclass(frozen=True)
class TextDemoSettings:
    """How much the demo trains: reviews generated, language-model and classifier epochs."""

    num_reviews: int
    lm_epochs: int
    classifier_epochs: int
    num_it: int


QUICK = TextDemoSettings(num_reviews=800, lm_epochs=1, classifier_epochs=2, num_it=30)
FULL = TextDemoSettings(num_reviews=2000, lm_epochs=4, classifier_epochs=4, num_it=60)


def run_demo(quick: bool = False, out: Path | None = None) -> DemoResult:
    """Fine-tune a language model on synthetic reviews, then train a sentiment classifier on its
    encoder; save text_lr_find.png and text_loss.png (the classifier's) to `out`.

    Example:
        >>> result = run_demo(quick=True, out=Path("demo_out"))
        >>> result.metrics["accuracy"]
    """
    settings = QUICK if quick else FULL
    reviews = synthetic_reviews(settings.num_reviews, seed=42)
    print(f"{len(reviews):,} synthetic reviews (IMDb's text is not bundled), e.g.:")
    print(f"  [{reviews['label'].iloc[0]}] {reviews['text'].iloc[0]}", flush=True)
    start = time.perf_counter()
    learn_lm = fine_tune_language_model(reviews, settings)
    learn = train_classifier(reviews, learn_lm, settings)
    seconds = time.perf_counter() - start
    with pd.option_context("display.width", 120, "display.max_colwidth", 70):
        print(f"\nPredictions for new reviews:\n{learn.predict(NEW_REVIEWS).to_string()}")
    save_plots(learn, out, "text")
    return DemoResult("text: ULMFiT on synthetic reviews", learn.validate(), seconds)


def fine_tune_language_model(reviews: pd.DataFrame, settings: TextDemoSettings
                             ) -> LanguageModelLearner:
    """A language model trained on every review (labels unused), and a sample of its text."""
    data_lm = TextData.from_df(reviews, "text", for_lm=True, valid_pct=0.1, seed=42, bs=32,
                               seq_len=48)
    print(f"\nLanguage model: {data_lm}")
    learn = language_model_learner(data_lm, config=CONFIG, drop_mult=0.3, seed=42)
    learn.fit_one_cycle(settings.lm_epochs, 2e-2)
    sample = learn.predict("The film was", n_words=20, temperature=0.75, seed=42)
    print(f"It writes: {sample}", flush=True)
    return learn


def train_classifier(reviews: pd.DataFrame, learn_lm: LanguageModelLearner,
                     settings: TextDemoSettings) -> TextClassifierLearner:
    """The classifier on the language model's vocabulary and encoder: lr_find, then `fine_tune`
    (the head for one epoch, then every layer)."""
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid",
                            vocab=learn_lm.vocab, bs=32)
    print(f"\nClassifier: {data}")
    learn = text_classifier_learner(data, config=CONFIG, drop_mult=0.3, seed=42)
    with tempfile.TemporaryDirectory() as folder:
        learn_lm.path = Path(folder)
        learn.load_encoder(learn_lm.save_encoder("demo_encoder"))  # and freeze()
    suggestion = learn.lr_find(num_it=settings.num_it)
    print(f"lr_find suggests valley={suggestion.valley:.2e}; training with the lesson's 2e-2")
    # lr_mult=1: this encoder learnt these very reviews a minute ago, so every layer may move as
    # fast as the head (fastai's default, 100, leaves the small encoder almost still).
    learn.fine_tune(settings.classifier_epochs, base_lr=2e-2, freeze_epochs=1, lr_mult=1)
    return learn
