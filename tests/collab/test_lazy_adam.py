import pytest
import torch
from torch import nn

from briskml.collab import LazyAdam
from briskml.optim import apply_weight_decay


def sparse_grad(param: nn.Parameter, rows: list[int], values: torch.Tensor) -> torch.Tensor:
    return torch.sparse_coo_tensor(torch.tensor([rows]), values, param.shape,
                                   check_invariants=False)


def lazy(param: nn.Parameter, wd: float = 0.0, wd_mode: str = "decoupled",
         lr: float = 0.01) -> LazyAdam:
    optimizer = LazyAdam([param], lr=lr)
    optimizer.param_groups[0].update(wd=wd, wd_mode=wd_mode)
    return optimizer


def test_rows_touched_every_step_follow_torch_adam_exactly():
    torch.manual_seed(0)
    start = torch.randn(6, 3)
    sparse, dense = nn.Parameter(start.clone()), nn.Parameter(start.clone())
    optimizer = lazy(sparse)
    reference = torch.optim.Adam([dense], lr=0.01, betas=(0.9, 0.99), eps=1e-5)
    for _ in range(5):
        rows, values = [1, 3, 3, 4], torch.randn(4, 3)       # row 3 twice: its gradients add up
        sparse.grad = sparse_grad(sparse, rows, values)
        dense.grad = torch.zeros_like(dense).index_add_(0, torch.tensor(rows), values)
        optimizer.step()
        reference.step()
    assert torch.allclose(sparse, dense, atol=1e-6)


def test_untouched_rows_keep_their_weights_and_moments():
    param = nn.Parameter(torch.ones(4, 2))
    optimizer = lazy(param, wd=0.1)
    param.grad = sparse_grad(param, [1], torch.ones(1, 2))
    optimizer.step()
    moments = optimizer.state[param]["moments"].clone()
    param.grad = sparse_grad(param, [2], torch.ones(1, 2))
    optimizer.step()
    assert torch.equal(optimizer.state[param]["moments"][:, 1], moments[:, 1])
    assert param[0].tolist() == [1.0, 1.0] and param[3].tolist() == [1.0, 1.0]
    assert param[1].tolist() != [1.0, 1.0] and param[2].tolist() != [1.0, 1.0]


def test_decoupled_decay_shrinks_only_the_touched_rows():
    param = nn.Parameter(torch.ones(3, 2))
    optimizer = lazy(param, wd=0.5, lr=0.1)
    param.grad = sparse_grad(param, [1], torch.zeros(1, 2))   # no gradient step, only the decay
    optimizer.step()
    assert param[1].tolist() == pytest.approx([0.95, 0.95])
    assert param[2].tolist() == [1.0, 1.0]


def test_l2_decay_adds_to_the_gradient_like_torch_adam():
    start = torch.randn(5, 3)
    sparse, dense = nn.Parameter(start.clone()), nn.Parameter(start.clone())
    optimizer = lazy(sparse, wd=0.2, wd_mode="l2")
    reference = torch.optim.Adam([dense], lr=0.01, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.2)
    for _ in range(3):
        sparse.grad = sparse_grad(sparse, [0, 1, 2, 3, 4], torch.ones(5, 3))
        dense.grad = torch.ones(5, 3)
        optimizer.step()
        reference.step()
    assert torch.allclose(sparse, dense, atol=1e-6)


def test_dense_parameters_get_plain_adam():
    torch.manual_seed(0)
    start = torch.randn(4, 4)
    ours, theirs = nn.Parameter(start.clone()), nn.Parameter(start.clone())
    optimizer = lazy(ours)
    reference = torch.optim.Adam([theirs], lr=0.01, betas=(0.9, 0.99), eps=1e-5)
    for _ in range(3):
        grad = torch.randn(4, 4)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        optimizer.step()
        reference.step()
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_the_learner_leaves_sparse_gradients_to_the_optimizer():
    param = nn.Parameter(torch.ones(3, 2))
    optimizer = lazy(param, wd=0.5, lr=0.1)
    param.grad = sparse_grad(param, [1], torch.zeros(1, 2))
    apply_weight_decay(optimizer, [[param]])
    assert torch.equal(param, torch.ones(3, 2))


def test_a_closure_recomputes_the_loss_before_the_step_like_torch_adam():
    table = nn.Embedding(5, 2, sparse=True)
    optimizer = LazyAdam(table.parameters(), lr=0.1)
    before = table.weight.detach().clone()

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = table(torch.tensor([1, 3])).pow(2).sum()
        loss.backward()
        return loss

    with torch.no_grad():   # the closure still gets gradients, as with torch's optimizers
        loss = optimizer.step(closure)
    assert loss.item() == pytest.approx(before[[1, 3]].pow(2).sum().item())
    assert not torch.equal(table.weight[1], before[1]) and torch.equal(table.weight[0], before[0])
    assert optimizer.step() is None
