"""The text part of the demo: a language model fine-tuned on synthetic reviews, then a classifier
on its encoder (here at a tiny size; `briskml demo --quick` runs the real one in tests/cli)."""

from __future__ import annotations

from briskml.cli.demos import text as demo
from briskml.cli.demos.text import TextDemoSettings

TINY = TextDemoSettings(num_reviews=160, lm_epochs=1, classifier_epochs=1, num_it=5)


def test_the_demo_trains_a_classifier_on_the_language_models_encoder(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.setattr(demo, "QUICK", TINY)
    monkeypatch.setattr(demo, "CONFIG", {"emb_sz": 16, "n_hid": 32, "n_layers": 2})
    result = demo.run_demo(quick=True, out=tmp_path)
    printed = capsys.readouterr().out
    assert result.name == "text: ULMFiT on synthetic reviews"
    assert set(result.metrics) == {"valid_loss", "accuracy"} and result.seconds > 0
    assert "160 synthetic reviews (IMDb's text is not bundled)" in printed
    assert "It writes: The film was " in printed and "lr_find suggests valley=" in printed
    assert printed.count("train_loss") == 3  # the language model, the head, every layer
    assert "probability_positive" in printed  # predictions for the two new reviews
    assert (tmp_path / "text_lr_find.png").is_file() and (tmp_path / "text_loss.png").is_file()


def test_the_classifier_reads_with_the_language_models_vocabulary():
    reviews = demo.synthetic_reviews(TINY.num_reviews, seed=0)
    learn_lm = demo.fine_tune_language_model(reviews, TINY)
    learn = demo.train_classifier(reviews, learn_lm, TINY)
    assert learn.vocab == learn_lm.vocab
    assert learn.config.emb_sz == learn_lm.config.emb_sz == demo.CONFIG["emb_sz"]
