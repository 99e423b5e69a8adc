"""TextPipeline: the Pipeline contract (inputs, decode, describe, to_json / from_json), the
reading direction, and what TextData and the learners take from it."""

import json

import numpy as np
import pytest
import torch

from briskml.errors import FileFormatError
from briskml.pipeline import Pipeline
from briskml.text import SentencePieceTokenizer, TextData, TextPipeline, Tokenizer, Vocab
from briskml.text.pipeline import pipeline_json_from_0_1_0

from .conftest import make_reviews


@pytest.fixture(scope="module")
def data(reviews):
    return TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=8)


@pytest.fixture(scope="module")
def data_lm(reviews):
    return TextData.from_df(reviews, "text", for_lm=True, valid_pct=0.2, seed=0, bs=4, seq_len=8)


def test_text_data_builds_the_pipeline_from_its_training_rows(data):
    pipeline = data.pipeline
    assert isinstance(pipeline, Pipeline) and isinstance(pipeline, TextPipeline)
    assert pipeline.vocab is data.vocab and pipeline.tokenizer is data.tokenizer
    assert pipeline.classes == data.classes == ["negative", "positive"]
    assert pipeline.backwards is False


def test_inputs_are_padded_rows_in_the_callers_order(data):
    pipeline = data.pipeline
    texts = ["Short.", "A much longer review than the other one.", "Mid one."]
    batch = pipeline.inputs(texts)
    assert batch.dtype == torch.int64 and batch.shape[0] == 3
    for row, text in zip(batch, texts, strict=True):
        ids = pipeline.ids(text)
        assert torch.equal(row[:len(ids)], ids)
        assert (row[len(ids):] == data.vocab.pad_id).all()
    assert torch.equal(pipeline.inputs("Mid one.")[0], pipeline.ids("Mid one."))


def test_a_backwards_pipeline_reverses_each_text(data):
    forward = data.pipeline
    backward = TextPipeline(forward.tokenizer, forward.vocab, forward.classes, backwards=True)
    text = "A much longer review than the other one."
    assert torch.equal(backward.ids(text), forward.ids(text).flip(0))
    length = len(forward.ids(text))
    assert torch.equal(backward.inputs([text, "Short."])[0, :length], forward.ids(text).flip(0))
    assert backward.text(backward.ids(text)) == forward.text(forward.ids(text))


def test_decode_gives_the_classes_a_user_reads(data):
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    decoded = data.pipeline.decode(probabilities)
    assert isinstance(decoded, np.ndarray)
    assert decoded.tolist() == ["negative", "positive", "positive"]
    assert data.pipeline.decode(torch.empty(0, 2)).tolist() == []


def test_a_language_models_decode_gives_the_most_likely_token_per_position(data_lm):
    vocab = data_lm.vocab
    wanted = [[vocab.index["xxbos"], vocab.index["the"]], [vocab.index["."], vocab.unk_id]]
    outputs = torch.nn.functional.one_hot(torch.tensor(wanted), len(vocab)).float()
    decoded = data_lm.pipeline.decode(outputs)   # (2, 2, vocab) -> (2, 2) tokens
    assert decoded.shape == (2, 2)
    assert decoded.tolist() == [["xxbos", "the"], [".", "xxunk"]]


def test_describe_is_json_and_says_what_the_pipeline_holds(data, data_lm):
    described = json.loads(json.dumps(data.pipeline.describe()))
    assert described["classes"] == ["negative", "positive"]
    assert described["vocab_size"] == len(data.vocab) and described["backwards"] is False
    assert described["tokenizer"]["kind"] == "word"
    assert json.loads(json.dumps(data_lm.pipeline.describe()))["classes"] is None


def test_to_json_and_from_json_round_trip_through_json_text(data):
    pipeline = data.pipeline
    rebuilt = TextPipeline.from_json(json.loads(json.dumps(pipeline.to_json())))
    assert rebuilt.vocab == pipeline.vocab and rebuilt.classes == pipeline.classes
    assert rebuilt.backwards == pipeline.backwards
    assert rebuilt.tokenizer.options() == pipeline.tokenizer.options()
    texts = ["I LOVED it!!!", "So so so boring."]
    assert torch.equal(rebuilt.inputs(texts), pipeline.inputs(texts))


def test_a_trained_subword_tokenizer_travels_inside_the_json():
    df = make_reviews(120, seed=9)
    data = TextData.from_df(df, "text", for_lm=True, tokenizer=SentencePieceTokenizer(vocab_sz=200),
                            bs=4, seq_len=8, min_freq=1)
    document = json.loads(json.dumps(data.pipeline.to_json()))
    assert set(document["tokenizer"]["state"]) == {"sentencepiece_model"}
    rebuilt = TextPipeline.from_json(document)
    assert rebuilt.tokenizer("Some NEW text!!!") == data.tokenizer("Some NEW text!!!")


def test_an_incomplete_pipeline_is_a_file_format_error():
    vocab = Vocab(["xxunk", "xxpad", "a"], special_tokens=["xxunk", "xxpad"])
    document = TextPipeline(Tokenizer(), vocab).to_json()
    del document["tokenizer"]
    with pytest.raises(FileFormatError, match=r"'model\.brisk' is damaged or was edited: field "
                                              r"'pipeline\.tokenizer' is missing"):
        TextPipeline.from_json(document, "model.brisk")
    with pytest.raises(FileFormatError, match=r"briskml 0\.1\.0.*export it again"):
        pipeline_json_from_0_1_0({"vocab": vocab.to_dict()}, "old.brisk")
