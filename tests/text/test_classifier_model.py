"""The classifier model: BPT3C reads in chunks exactly as in one pass, padding is ignored, the
graph is kept only for the last max_len tokens, and the layer groups open one layer at a time."""

import pytest
import torch

from briskml.errors import ConfigError
from briskml.layers import LinBnDrop
from briskml.text import AWDLSTMClassifier, AWDLSTMConfig, TextClassifierConfig
from briskml.text.classifier_model import classifier_config, classifier_splitter

ENCODER = AWDLSTMConfig.for_classifier(vocab_size=40, emb_sz=6, n_hid=10, n_layers=2)


def make_model(seq_len: int = 72, max_len: int = 1440) -> AWDLSTMClassifier:
    torch.manual_seed(0)
    config = classifier_config(ENCODER, 3, (8,), None, seq_len, max_len)
    return AWDLSTMClassifier(config)


def padded(rows: list[list[int]]) -> torch.Tensor:
    longest = max(len(row) for row in rows)
    return torch.tensor([row + [1] * (longest - len(row)) for row in rows])


def documents(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(2, 40, (n,), generator=generator).tolist() for n in lengths]


def test_reading_in_chunks_gives_the_one_pass_result():
    docs = documents([23, 17, 9, 4])
    whole, chunked = make_model(seq_len=100).eval(), make_model(seq_len=5).eval()
    chunked.load_state_dict(whole.state_dict())
    tokens = padded(docs)
    torch.testing.assert_close(chunked(tokens), whole(tokens))


def test_padding_does_not_change_a_documents_prediction():
    model = make_model(seq_len=4).eval()
    docs = documents([30, 11, 6])
    batch = model(padded(docs))
    for index, doc in enumerate(docs):
        torch.testing.assert_close(model(padded([doc]))[0], batch[index])


def test_rows_in_any_order_come_back_in_that_order():
    model = make_model(seq_len=4).eval()
    docs = documents([5, 19, 12])
    in_order = model(padded(docs))
    reordered = model(padded([docs[2], docs[0], docs[1]]))
    torch.testing.assert_close(reordered, in_order[[2, 0, 1]])


def test_only_the_last_max_len_tokens_backpropagate():
    model = make_model(seq_len=4, max_len=8)
    early, late = 5, 6
    tokens = torch.tensor([[early] * 12 + [late] * 8] * 2)   # 20 tokens: chunks 0-2 early, 3-4 late
    model.train()
    model(tokens).sum().backward()
    gradient = model.encoder.embedding.weight.grad
    assert gradient[early].abs().sum() == 0   # chunks 0-2 end more than max_len before the end
    assert gradient[late].abs().sum() > 0


def test_activation_terms_cover_the_backpropagated_chunks():
    model = make_model(seq_len=4).train()
    model(padded(documents([9, 3])))
    ar, tar = model.activation_terms()
    assert ar > 0 and tar > 0
    model.eval()(padded(documents([9, 3])))
    assert model.activation_terms() is None


def test_layer_groups_are_embedding_each_layer_and_head():
    model = make_model()
    groups = classifier_splitter(model)
    assert len(groups) == 4
    assert groups[0] == [model.encoder.embedding.weight]
    assert groups[-1] == list(model.head.parameters())


def test_the_head_pools_three_times_emb_sz():
    model = make_model()
    assert model.head[0].bn.num_features == 3 * ENCODER.emb_sz
    assert model.head[0].drop.p == pytest.approx(ENCODER.output_p)


def test_the_head_is_fastais_pooling_head_of_linbndrop_blocks():
    model = make_model()
    assert [type(block) for block in model.head] == [LinBnDrop, LinBnDrop]
    assert [block.lin_first for block in model.head] == [False, False]
    assert [block.use_act for block in model.head] == [True, False]   # no ReLU on the logits
    assert model.head[0].linear.out_features == 8 and model.head[1].linear.out_features == 3


def test_upgrade_state_renames_the_0_1_0_head():
    model = make_model()
    # briskml 0.1.0's head: [BatchNorm, Dropout, Linear, ReLU, BatchNorm, Dropout, Linear]
    old_names = {"0.bn": "0", "0.linear": "2", "1.bn": "4", "1.linear": "6"}
    saved = {}
    for key, value in model.state_dict().items():
        if key.startswith("head."):
            _, block, layer, rest = key.split(".", 3)
            key = f"head.{old_names[f'{block}.{layer}']}.{rest}"
        saved[key] = value
    assert "head.4.running_mean" in saved and "head.6.weight" in saved
    upgraded = AWDLSTMClassifier.upgrade_state(saved)
    assert upgraded.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(upgraded[key], value)


def test_mismatched_head_sizes_are_refused():
    with pytest.raises(ConfigError, match=r"ps has 2 value\(s\) for 1 layer"):
        TextClassifierConfig(ENCODER, 2, lin_ftrs=(50,), ps=(0.1, 0.2))
    with pytest.raises(ConfigError, match="at least 2 classes"):
        TextClassifierConfig(ENCODER, 1)


def test_the_config_rebuilds_from_json():
    import dataclasses

    config = classifier_config(ENCODER, 2, [50], 0.2, 72, 1440)
    assert TextClassifierConfig(**dataclasses.asdict(config)) == config


def test_a_training_batch_of_one_document_does_not_fail():
    model = make_model().train()
    assert model(padded(documents([7]))).shape == (1, 3)
