import math

import pytest
import torch

import briskml as bm
from briskml.errors import ConfigError
from briskml.metrics import AvgMetric, F1Score, TopKAccuracy, as_metrics


def accumulate(metric, batches):
    metric = as_metrics([metric])[0]
    for preds, targets in batches:
        metric.update(preds, targets)
    return metric.value


def test_accuracy_and_error_rate_use_argmax():
    preds = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.2, 0.1]])
    targets = torch.tensor([0, 1, 1, 0])
    assert bm.accuracy(preds, targets) == pytest.approx(0.75)
    assert bm.error_rate(preds, targets) == pytest.approx(0.25)


def test_accuracy_over_batches_weights_every_row_equally():
    big = (torch.tensor([[1.0, 0.0]] * 9), torch.tensor([0] * 9))      # all right
    small = (torch.tensor([[1.0, 0.0]]), torch.tensor([1]))            # all wrong
    assert accumulate(bm.accuracy, [big, small]) == pytest.approx(0.9)


def test_rmse_is_computed_over_the_whole_set_not_averaged_per_batch():
    batches = [(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 0.0])),
               (torch.tensor([0.0, 0.0]), torch.tensor([2.0, 2.0]))]
    # per-batch rmse would be mean(0, 2) = 1; the true rmse is sqrt(8 / 4)
    assert accumulate(bm.rmse, batches) == pytest.approx(math.sqrt(2))
    assert accumulate(bm.mse, batches) == pytest.approx(2.0)
    assert accumulate(bm.mae, batches) == pytest.approx(1.0)


def test_regression_metrics_accept_column_predictions():
    preds = torch.tensor([[1.0], [2.0], [3.0]])
    targets = torch.tensor([1.0, 2.0, 4.0])
    assert bm.mae(preds, targets) == pytest.approx(1 / 3)


def test_r2_matches_its_definition_across_batches():
    generator = torch.Generator().manual_seed(0)
    targets = torch.randn(100, generator=generator)
    preds = targets + 0.3 * torch.randn(100, generator=generator)
    expected = 1 - ((preds - targets) ** 2).sum() / ((targets - targets.mean()) ** 2).sum()
    batches = [(preds[i:i + 30], targets[i:i + 30]) for i in range(0, 100, 30)]
    assert accumulate(bm.r2, batches) == pytest.approx(expected.item(), rel=1e-6)


def test_f1_binary_and_macro_match_hand_counts():
    # targets 1,1,1,0,0 ; predicted 1,1,0,1,0 -> tp=2 fp=1 fn=1 -> f1 = 2/3
    preds = torch.tensor([[0, 1], [0, 1], [1, 0], [0, 1], [1, 0]], dtype=torch.float)
    targets = torch.tensor([1, 1, 1, 0, 0])
    assert bm.f1(preds, targets) == pytest.approx(2 / 3)
    # class 0: tp=1 fp=1 fn=1 -> 1/2 ; macro = (1/2 + 2/3) / 2
    assert F1Score(average="macro")(preds, targets) == pytest.approx((0.5 + 2 / 3) / 2)
    assert F1Score(average="micro")(preds, targets) == pytest.approx(3 / 5)


def test_f1_over_batches_pools_the_confusion_counts():
    preds = torch.tensor([[0, 1], [0, 1], [1, 0], [0, 1], [1, 0]], dtype=torch.float)
    targets = torch.tensor([1, 1, 1, 0, 0])
    batches = [(preds[:2], targets[:2]), (preds[2:], targets[2:])]
    assert accumulate(bm.f1, batches) == pytest.approx(2 / 3)


def test_roc_auc_counts_ties_as_half():
    scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.4])
    targets = torch.tensor([0, 0, 1, 1, 1])
    # positives 0.35, 0.8, 0.4 vs negatives 0.1, 0.4: wins 1+2+1.5 = 4.5 of 6
    assert bm.roc_auc(scores, targets) == pytest.approx(4.5 / 6)


def test_roc_auc_reads_two_column_logits_as_class_one_probability():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.5], [0.0, 1.0]])
    targets = torch.tensor([0, 1, 0, 1])
    assert bm.roc_auc(logits, targets) == pytest.approx(1.0)


def test_perplexity_is_exp_of_mean_cross_entropy_per_token():
    logits = torch.randn(2, 5, 7)
    targets = torch.randint(0, 7, (2, 5))
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1)).exp()
    assert bm.perplexity(logits, targets) == pytest.approx(expected.item(), rel=1e-5)


def test_top_k_accuracy_counts_targets_among_the_k_best():
    logits = torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.02, 0.08]])
    targets = torch.tensor([2, 1])
    assert TopKAccuracy(k=2)(logits, targets) == pytest.approx(0.5)
    assert bm.top_k_accuracy(logits, targets) == pytest.approx(1.0)  # k=5 covers all classes


def test_plain_functions_become_batch_weighted_averages():
    def mean_error(preds, targets):
        return (preds - targets).abs().mean()

    metric = as_metrics(mean_error)[0]
    assert isinstance(metric, AvgMetric) and metric.name == "mean_error"
    assert metric.lower_is_better


def test_metric_names_must_be_unique():
    with pytest.raises(ConfigError, match="unique"):
        as_metrics([bm.accuracy, bm.accuracy])


def test_each_learner_gets_its_own_metric_state():
    first, second = as_metrics([bm.accuracy])[0], as_metrics([bm.accuracy])[0]
    first.update(torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    assert first.value == 1.0
    assert math.isnan(second.value)
