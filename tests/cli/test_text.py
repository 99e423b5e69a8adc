"""`briskml text pretrain | lm | classify | generate`, and predict / info on text models, driven
as a user would: a tiny model pretrained, fine-tuned and turned into a classifier once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import briskml as bm
from briskml.datasets import synthetic_reviews
from tests.cli.conftest import info_lines, run_briskml, run_cli, train_ok

TINY = ["--emb-sz", "16", "--n-hid", "32", "--n-layers", "1"]


@dataclass(frozen=True)
class TextModels:
    """The files of the chain pretrain -> lm -> classify, and the data they were trained on."""

    folder: Path
    reviews: Path
    pretrained: Path
    lm: Path
    encoder: Path
    classifier: Path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> TextModels:
    """A corpus and 300 labelled reviews; each model trained once through the command."""
    folder = tmp_path_factory.mktemp("text")
    corpus = "\n\n".join(synthetic_reviews(200, seed=1)["text"])
    (folder / "corpus.txt").write_text(corpus, encoding="utf-8")
    synthetic_reviews(300, seed=0).to_csv(folder / "reviews.csv", index=False)
    files = TextModels(folder, folder / "reviews.csv", folder / "wt.brisk", folder / "lm.brisk",
                       folder / "enc.safetensors", folder / "cls.brisk")
    with pytest.MonkeyPatch.context() as patch:  # tokens cached in the test's folder
        patch.setenv("BRISKML_CACHE", str(folder / "cache"))
        train_ok("text", "pretrain", folder / "corpus.txt", *TINY, "--bs", "16", "--seed", "0",
                 "--out", files.pretrained)
        train_ok("text", "lm", files.reviews, "--pretrained", files.pretrained, "--bs", "16",
                 "--seed", "0", "--out", files.lm, "--encoder-out", files.encoder)
        train_ok("text", "classify", files.reviews, "--label-col", "label", "--valid-col",
                 "is_valid", "--encoder", files.lm, "--bs", "16", "--seed", "0", "--out",
                 files.classifier)
    return files


def other_words(path: Path, num_rows: int = 40) -> Path:
    """Labelled texts of made-up words no review uses."""
    rng = np.random.default_rng(0)
    words = ["zorp", "blick", "quandle", "mivvy", "trosk", "plenth"]
    texts = [" ".join(rng.choice(words, 12)) for _ in range(num_rows)]
    pd.DataFrame({"text": texts, "label": rng.choice(["a", "b"], num_rows)}).to_csv(path,
                                                                                   index=False)
    return path


# ----- training ---------------------------------------------------------------------------------
def test_lm_from_a_pretrained_model_is_fine_tuned_frozen_then_unfrozen(models, tmp_path):
    result = run_cli("text", "lm", models.reviews, "--pretrained", models.pretrained, "--bs", "16",
                     "--seed", "0", "--lr-mult", "10", "--out", tmp_path / "lm.brisk")
    assert result.code == 0, result.stderr
    assert ("fine_tune: 1 epoch(s) of the new layers at lr 0.01, then 1 of every layer over "
            "slice(0.0005, 0.005)") in result.stderr
    assert result.stdout.count("perplexity") == 3  # two epoch tables and the closing line
    assert "exported " in result.stdout.splitlines()[-1]


def test_the_classifier_reads_texts_with_the_language_models_vocabulary(models):
    language_model = bm.load_learner(models.lm)
    classifier = bm.load_learner(models.classifier)
    assert classifier.vocab == language_model.vocab
    assert classifier.tokenizer.options() == language_model.tokenizer.options()
    assert classifier.classes == ["negative", "positive"]


def test_an_encoder_file_starts_a_classifier_with_gradual_unfreezing(models, tmp_path):
    result = run_cli("text", "classify", models.reviews, "--label-col", "label", "--encoder",
                     models.encoder, "--gradual", "--epochs", "1", "--bs", "32", "--seed", "0",
                     "--out", tmp_path / "cls.brisk")
    assert result.code == 0, result.stderr
    assert result.stdout.count("train_loss") == 3  # head, one LSTM layer (of 1), everything
    assert bm.load_learner(tmp_path / "cls.brisk").vocab == bm.load_learner(models.lm).vocab


def test_pretrain_reads_a_csv_column_as_its_corpus(models, tmp_path):
    result = run_cli("text", "pretrain", models.reviews, "--text-col", "text", *TINY, "--bs", "32",
                     "--max-vocab", "50", "--out", tmp_path / "wt.brisk")
    assert result.code == 0, result.stderr
    assert "300 documents from" in result.stderr
    assert len(bm.load_learner(tmp_path / "wt.brisk").vocab) <= 56  # 50 + the special tokens


def test_lr_find_sweeps_the_classifiers_head(models, tmp_path):
    result = run_cli("lr-find", "text-classify", models.reviews, "--label-col", "label",
                     "--encoder", models.lm, "--num-it", "10", "--plot", tmp_path / "lr.png")
    assert result.code == 0, result.stderr
    assert "valley" in result.stdout and (tmp_path / "lr.png").is_file()


# ----- generate ---------------------------------------------------------------------------------
def test_generate_with_a_seed_gives_the_same_text_every_time(models):
    args = ("text", "generate", models.lm, "The film was", "-n", "12", "--seed", "3")
    in_process = run_cli(*args)
    separate = run_briskml(*args, cwd=models.folder)
    assert in_process.code == 0 and separate.returncode == 0, separate.stderr
    assert in_process.stdout == separate.stdout
    assert in_process.stdout.startswith("The film was ")
    assert len(in_process.stdout.split()) > 10


def test_generate_refuses_a_classifier(models):
    result = run_cli("text", "generate", models.classifier, "hello")
    assert result.code == 2 and "holds a text_classifier model" in result.stderr


# ----- info and predict -------------------------------------------------------------------------
def test_info_describes_both_kinds_and_an_encoder(models):
    language_model = info_lines(models.lm)
    assert language_model["kind"] == "text_lm"
    assert language_model["model"] == "AWDLSTMLanguageModel" and language_model["emb_sz"] == "16"
    assert int(language_model["vocab size"]) > 10 and language_model["classes"] == "none"
    assert "perplexity" in language_model["at export"]
    assert "briskml text generate" in language_model["use"]
    classifier = info_lines(models.classifier)
    assert classifier["kind"] == "text_classifier"
    assert "emb_sz=16, n_hid=32" in classifier["encoder"]
    assert classifier["classes"] == "2: negative, positive"
    assert "accuracy" in classifier["at export"] and "use" not in classifier
    encoder = run_cli("info", models.encoder)
    assert encoder.code == 0, encoder.stderr
    assert "a text encoder" in encoder.stdout and "emb_sz 16, n_hid 32" in encoder.stdout


def test_predict_adds_classes_and_probabilities_in_row_order(models, tmp_path):
    rows = pd.read_csv(models.reviews).sample(frac=1.0, random_state=0).head(120)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", models.classifier, tmp_path / "rows.csv", "--chunk-size", "50",
                     "--out", tmp_path / "out.csv")
    assert result.code == 0, result.stderr
    written = pd.read_csv(tmp_path / "out.csv")
    expected = bm.load_learner(models.classifier).predict(rows, text_cols="text")
    pd.testing.assert_frame_equal(written[rows.columns], rows.reset_index(drop=True))
    assert list(written.columns[len(rows.columns):]) == ["prediction", "probability_negative",
                                                         "probability_positive"]
    assert written["prediction"].tolist() == expected["prediction"].tolist()
    np.testing.assert_allclose(written["probability_positive"],
                               expected["probability_positive"], atol=1e-5)


def test_predict_takes_the_only_text_column_or_asks_for_text_col(models, tmp_path):
    reviews = pd.read_csv(models.reviews).head(5)
    reviews[["text"]].rename(columns={"text": "review"}).to_csv(tmp_path / "one.csv",
                                                                index=False)
    assert run_cli("predict", models.classifier, tmp_path / "one.csv").code == 0
    reviews.rename(columns={"text": "review"}).to_csv(tmp_path / "two.csv", index=False)
    unnamed = run_cli("predict", models.classifier, tmp_path / "two.csv")
    assert unnamed.code == 2 and "--text-col on the command line" in unnamed.stderr
    named = run_cli("predict", models.classifier, tmp_path / "two.csv", "--text-col", "review")
    assert named.code == 0 and len(named.stdout.splitlines()) == 6


def test_predict_with_a_language_model_points_to_generate(models, tmp_path):
    result = run_cli("predict", models.lm, models.reviews, "--out", tmp_path / "out.csv")
    assert result.code == 2 and f"briskml text generate {models.lm}" in result.stderr
    assert not (tmp_path / "out.csv").exists()


# ----- mistakes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["text", "classify", "{reviews}", "--label-col", "stars", "--out", "{out}"],
     "Column 'stars' (in --label-col) is not in the DataFrame"),
    (["text", "lm", "{reviews}", "--text-col", "txt", "--out", "{out}"],
     "Column 'txt' (in --text-col) is not in the DataFrame; closest names: ['text']"),
    (["text", "classify", "{reviews}", "--label-col", "label", "--out", "{existing}"],
     "already exists; pass --force"),
    (["text", "classify", "{other}", "--label-col", "label", "--encoder", "{lm}", "--out",
      "{out}"], "are unknown to the vocabulary of --encoder"),
    (["text", "classify", "{reviews}", "--label-col", "label", "--encoder", "{lm}",
      "--emb-sz", "20", "--out", "{out}"], "--emb-sz 20 does not match --encoder"),
    (["text", "classify", "{reviews}", "--label-col", "label", "--encoder", "{lm}",
      "--max-vocab", "100", "--out", "{out}"], "--max-vocab cannot be used with --encoder"),
    (["text", "classify", "{reviews}", "--label-col", "label", "--encoder", "{classifier}",
      "--valid-pct", "0.2", "--valid-col", "is_valid", "--out", "{out}"],
     "Pass --valid-pct or --valid-col, not both"),
    (["text", "lm", "{reviews}", "--pretrained", "{classifier}", "--out", "{out}"],
     "expected an exported language model"),
    (["text", "pretrain", "{corpus}", "--text-col", "text", "--out", "{out}"],
     "--text-col names a column of a CSV or Parquet CORPUS"),
    (["text", "generate", "{missing}"], "No such file"),
], ids=["label column", "text column", "existing output", "vocabulary", "sizes", "max-vocab",
        "split", "not an lm", "text-col on text", "missing model"])
def test_mistakes_are_one_line_errors_and_write_nothing(models, tmp_path, args, message):
    (tmp_path / "existing.brisk").write_text("keep me")
    names = {"reviews": models.reviews, "lm": models.lm, "classifier": models.classifier,
             "corpus": models.folder / "corpus.txt", "other": other_words(tmp_path / "o.csv"),
             "out": tmp_path / "out.brisk", "existing": tmp_path / "existing.brisk",
             "missing": tmp_path / "missing.brisk"}
    result = run_cli(*[arg.format(**names) for arg in args])
    assert result.code == 2, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and message in error[0], result.stderr
    assert not (tmp_path / "out.brisk").exists()
    assert (tmp_path / "existing.brisk").read_text() == "keep me"


def test_text_col_is_refused_for_a_model_that_does_not_read_text(adult_model, models):
    result = run_cli("predict", adult_model, models.reviews, "--text-col", "text")
    assert result.code == 2 and "--text-col is for text classifiers" in result.stderr


# ----- files that are not UTF-8 -------------------------------------------------------------
def _latin1_reviews(models: TextModels, path: Path) -> tuple[Path, int, int]:
    """The reviews with one byte that is not UTF-8 near the end: (file, byte offset, line)."""
    data = models.reviews.read_bytes()
    offset = data.rindex(b"e")
    path.write_bytes(data[:offset] + b"\xe9" + data[offset + 1:])
    return path, offset, data[:offset].count(b"\n") + 1


@pytest.mark.parametrize("command", [
    ["text", "lm", "{data}", "--out", "{out}"],
    ["text", "classify", "{data}", "--label-col", "label", "--out", "{out}"],
    ["text", "pretrain", "{data}", "--out", "{out}"],
    ["text", "pretrain", "{text}", "--out", "{out}"],
    ["lr-find", "text-lm", "{data}"],
    ["lr-find", "text-classify", "{data}", "--label-col", "label"],
], ids=["lm", "classify", "pretrain csv", "pretrain text", "lr-find lm", "lr-find classify"])
def test_a_file_that_is_not_utf8_is_refused_with_its_byte_offset(models, tmp_path, command):
    data, offset, line = _latin1_reviews(models, tmp_path / "latin1.csv")
    text = tmp_path / "corpus.txt"
    text.write_bytes(b"A fine corpus.\n\nIts second paragraph is caf\xe9.")   # offset 43
    names = {"data": data, "text": text, "out": tmp_path / "out.brisk"}
    result = run_cli(*[arg.format(**names) for arg in command])
    assert result.code == 2, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    where = "byte offset 43 (line 3)" if "{text}" in command else \
        f"byte offset {offset} (line {line})"
    assert "is not valid UTF-8" in error and where in error and "--encoding-errors replace" in error
    assert not (tmp_path / "out.brisk").exists()


def test_encoding_errors_replace_reads_bad_bytes_as_replacement_characters(models, tmp_path):
    data, _, _ = _latin1_reviews(models, tmp_path / "latin1.csv")
    result = run_cli("text", "lm", data, "--pretrained", models.pretrained, "--bs", "16",
                     "--epochs", "1", "--frozen-epochs", "0", "--encoding-errors", "replace",
                     "--out", tmp_path / "lm.brisk")
    assert result.code == 0, result.stderr
    assert "latin1.csv" in result.stderr and "U+FFFD" in result.stderr   # the warning
    refused = run_cli("text", "lm", data, "--encoding-errors", "ignore", "--out",
                      tmp_path / "other.brisk")
    assert refused.code == 2 and "--encoding-errors" in refused.stderr
