from briskml.datasets import synthetic_reviews


def test_reviews_are_labelled_balanced_and_split():
    df = synthetic_reviews(400, seed=3)
    assert df.columns.tolist() == ["label", "text", "is_valid"]
    assert set(df["label"]) == {"positive", "negative"}
    assert 120 < (df["label"] == "positive").sum() < 280
    assert df["is_valid"].sum() == 80


def test_the_same_seed_gives_the_same_reviews():
    assert synthetic_reviews(50, seed=1).equals(synthetic_reviews(50, seed=1))
    assert not synthetic_reviews(50, seed=1).equals(synthetic_reviews(50, seed=2))


def test_reviews_exercise_the_tokenizer_rules():
    text = " ".join(synthetic_reviews(300, seed=0)["text"])
    for piece in ("<br />", "!!!", "wasn't", "Don't"):
        assert piece in text
    assert any(word.isupper() and len(word) > 3 for word in text.split())
