"""Training checkpoints that a later `fit(..., resume=folder)` continues from, exactly.

A checkpoint is one persist bundle (safetensors + JSON, written atomically) holding everything
that changes while a learner trains: weights, optimizer and loss-scaler state, the schedule's
position (stage of a multi-stage call such as `fine_tune`, epoch, batch, iteration, and the
totals the schedule was built for), every random generator's state (and the one at the start of
the epoch, so a mid-epoch resume replays the same shuffled order), the recorder's history, the
state of callbacks that keep some, which layer groups are frozen, and a language model's hidden
state. It also records what it was made for (the model's class and config, a fingerprint of the
training data), so resuming with anything else is refused with what differs.

Example:
    >>> learn.fit_one_cycle(10, 1e-2, callbacks=[Checkpoint(every_epochs=1)])   # killed ...
    >>> learn.fit_one_cycle(10, 1e-2, resume="checkpoints/")                    # ... goes on
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from briskml.errors import ConfigError, FileFormatError
from briskml.persist import (
    optimizer_from_bundle,
    optimizer_to_bundle,
    read_bundle,
    remove_stray_temporaries,
    write_bundle,
)
from briskml.registry import model_spec
from briskml.rng import get_rng_states, set_rng_states
from briskml.schema import expect_dict, expect_int, expect_key, expect_list, in_file

if TYPE_CHECKING:
    from briskml.learner import Learner

CONTENT = "training_checkpoint"
_NAME = re.compile(r"^checkpoint-(\d{8})\.safetensors$")


@dataclass
class ResumePoint:
    """Where a checkpoint left training: its file, JSON and tensors."""

    path: Path
    meta: dict[str, Any]
    tensors: dict[str, Tensor]

    @property
    def stage(self) -> int:
        """Which `_run_fit` of the resumed call (fine_tune has two) the checkpoint is in."""
        return int(self.meta["position"]["stage"])


# ----- writing ----------------------------------------------------------------------------------
def write_training_checkpoint(learn: Learner, folder: Path, keep: int, at_epoch_end: bool,
                              fingerprint: str | None = None) -> Path:
    """Write the learner's whole training state as the next numbered checkpoint in `folder`,
    then delete all but the newest `keep`. Mid-epoch (`at_epoch_end=False`, after a training
    batch) it resumes at the next batch; at an epoch's end, at the next epoch. `fingerprint`
    is the training data's (`data_fingerprint`), computed here when not given."""
    tensors: dict[str, Tensor] = {f"model.{k}": v for k, v in learn.model.state_dict().items()}
    optimizer_tensors, optimizer_meta = optimizer_to_bundle(learn.opt)
    tensors.update(optimizer_tensors)
    position = {
        "stage": learn._stage, "n_epoch": learn.n_epoch,
        "total_train_iters": learn.total_train_iters,
        # after_batch comes before the loop counts its batch; an epoch's end after it
        "train_iter": learn.train_iter + (0 if at_epoch_end else 1),
        # the next batch to train: the start of the next epoch after an epoch's end
        "epoch": learn.epoch + 1 if at_epoch_end else learn.epoch,
        "batch": 0 if at_epoch_end else learn.batch_index + 1,
    }
    rng, rng_tensors = _rng_to_bundle(learn, "rng.")
    tensors.update(rng_tensors)
    meta: dict[str, Any] = {
        "content": CONTENT, "position": position, "optimizer": optimizer_meta, "rng": rng,
        "model": model_spec(learn.model) or {"name": type(learn.model).__name__},
        "data": fingerprint or data_fingerprint(learn.data), "method": learn._fit_method,
        "frozen": [all(not p.requires_grad for p in group) for group in learn.layer_groups],
        "callbacks": {},
    }
    if position["batch"] > 0:
        meta["epoch_start_rng"], start_tensors = _rng_to_bundle(learn, "epoch_rng.",
                                                                learn._epoch_start_rng)
        tensors.update(start_tensors)
    for name, callback in _named_callbacks(learn).items():
        state = callback.state_dict()
        if state:
            plain = {key: value for key, value in state.items() if not isinstance(value, Tensor)}
            for key, value in state.items():
                if isinstance(value, Tensor):
                    tensors[f"cb.{name}.{key}"] = value
            meta["callbacks"][name] = plain
    folder.mkdir(parents=True, exist_ok=True)
    existing = checkpoint_files(folder)
    number = int(_NAME.match(existing[-1].name).group(1)) + 1 if existing else 0
    path = write_bundle(folder / f"checkpoint-{number:08d}.safetensors", tensors, meta)
    for old in checkpoint_files(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def checkpoint_files(folder: Path) -> list[Path]:
    """The complete checkpoints in `folder`, oldest first (temporary files never match)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if _NAME.match(path.name))


# ----- reading ----------------------------------------------------------------------------------
def find_resume_point(resume: str | Path, learn: Learner, method: str) -> ResumePoint:
    """The newest complete checkpoint in `resume` (a folder, or one checkpoint file), checked
    against this learner: the same model, the same training data, the same fit method."""
    path = Path(resume)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at '{path}' to resume from; train with "
                                "callbacks=[Checkpoint(path=...)] first.")
    if path.is_dir():
        remove_stray_temporaries(path)
        files = checkpoint_files(path)
        if not files:
            raise FileNotFoundError(f"No checkpoint in '{path}' to resume from; train with "
                                    "callbacks=[Checkpoint(path=...)] first.")
        path = files[-1]
    tensors, meta = read_bundle(path)
    if meta.get("content") != CONTENT:
        raise FileFormatError(f"'{path}' is not a training checkpoint (it holds "
                              f"{meta.get('content')!r}); resume from a Checkpoint folder.")
    with in_file(str(path), "position", fix="Resume from another checkpoint."):
        position = expect_dict(expect_key(meta, "position", ""), "position")
        for key in ("stage", "n_epoch", "total_train_iters", "train_iter", "epoch", "batch"):
            expect_int(expect_key(position, key, "position"), f"position.{key}", minimum=0)
        expect_list(expect_key(meta, "frozen", ""), "frozen")
    differences = []
    spec = model_spec(learn.model) or {"name": type(learn.model).__name__}
    if meta.get("model") != json.loads(json.dumps(spec)):
        differences.append(f"the model ({meta.get('model', {}).get('name')} with its config, "
                           f"here {spec['name']})")
    if meta.get("data") != data_fingerprint(learn.data):
        differences.append("the training data (its fingerprint differs)")
    if meta.get("method") != method:
        differences.append(f"the fit method ({meta.get('method')}, here {method})")
    if differences:
        raise ConfigError(f"Cannot resume from '{path}': it was made for another "
                          f"{' and '.join(differences)}. Resume with the same learner, data and "
                          "call, or start without resume.")
    return ResumePoint(path, meta, tensors)


def restore_training_state(learn: Learner, point: ResumePoint) -> dict[str, Any]:
    """Put the checkpoint's state into `learn`; return its position."""
    position = point.meta["position"]
    if (position["n_epoch"], position["total_train_iters"]) != (
            learn.n_epoch, learn.total_train_iters):
        raise ConfigError(
            f"Cannot resume from '{point.path}': its schedule was built for "
            f"{position['n_epoch']} epochs ({position['total_train_iters']} batches), this call "
            f"for {learn.n_epoch} ({learn.total_train_iters}). Resume with the same number of "
            "epochs.")
    tensors = point.tensors
    learn.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    with in_file(str(point.path), "optimizer state", fix="Resume from another checkpoint."):
        optimizer_from_bundle(learn.opt, {k: v for k, v in tensors.items()
                                          if k.startswith("opt.")},
                              point.meta["optimizer"], str(point.path))
    for group, frozen in zip(learn.layer_groups, point.meta["frozen"], strict=False):
        for param in group:
            param.requires_grad_(not frozen)
    for name, callback in _named_callbacks(learn).items():
        state = dict(point.meta["callbacks"].get(name, {}))
        prefix = f"cb.{name}."
        state.update({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        if state:
            callback.load_state_dict(state)
    learn.train_iter = position["train_iter"]
    return position


def checkpoint_rng(point: ResumePoint, learn: Learner, which: str = "rng") -> None:
    """Set every generator to the checkpoint's state (`which`: "rng" at the checkpoint, or
    "epoch_start_rng" at the start of its epoch)."""
    prefix = "rng." if which == "rng" else "epoch_rng."
    _rng_from_bundle(learn, point.meta[which], point.tensors, prefix)


# ----- the pieces --------------------------------------------------------------------------------
def data_fingerprint(data: Any) -> str:
    """SHA-256 of the training and validation loaders' lengths, batch sizes and tensors: the
    same data gives the same fingerprint in any process."""
    digest = hashlib.sha256()
    for name in ("train", "valid"):
        loader = getattr(data, name, None)
        if loader is None:
            digest.update(b"none")
            continue
        digest.update(f"{name}:{type(loader).__name__}:{len(loader)}:"
                      f"{getattr(loader, 'bs', None)}".encode())
        for value in vars(loader).values():
            for item in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(item, Tensor):
                    item = item.detach().cpu().contiguous().numpy()
                if isinstance(item, np.ndarray) and item.dtype != object:
                    digest.update(str((item.dtype, item.shape)).encode())
                    digest.update(np.ascontiguousarray(item).data)
    return digest.hexdigest()


def _generators(learn: Learner) -> dict[str, torch.Generator]:
    found = {}
    for name in ("train", "valid"):
        generator = getattr(getattr(learn.data, name, None), "generator", None)
        if isinstance(generator, torch.Generator):
            found[name] = generator
    return found


def _rng_to_bundle(learn: Learner, prefix: str, states: dict[str, Any] | None = None
                   ) -> tuple[dict[str, Any], dict[str, Tensor]]:
    if states is None:
        states = capture_rng(learn)
    version, internal, gauss = states["python"]
    kind, keys, position, has_gauss, cached = states["numpy"]
    plain = {"python": [version, list(internal), gauss],
             "numpy": [kind, int(position), int(has_gauss), float(cached)],
             "cuda_devices": len(states.get("cuda", []))}
    tensors = {f"{prefix}numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
               f"{prefix}torch": states["torch"]}
    for index, state in enumerate(states.get("cuda", [])):
        tensors[f"{prefix}cuda.{index}"] = state
    for name, state in states["loaders"].items():
        tensors[f"{prefix}loader.{name}"] = state
    return plain, tensors


def capture_rng(learn: Learner) -> dict[str, Any]:
    """Every generator's state (`briskml.rng`) and the learner's loaders' own generators'."""
    states = dict(get_rng_states())
    states["loaders"] = {name: generator.get_state()
                         for name, generator in _generators(learn).items()}
    return states


def restore_rng(learn: Learner, states: dict[str, Any]) -> None:
    """Put back what `capture_rng` returned."""
    set_rng_states(states)
    for name, generator in _generators(learn).items():
        if name in states["loaders"]:
            generator.set_state(states["loaders"][name])


def _rng_from_bundle(learn: Learner, plain: dict[str, Any], tensors: dict[str, Tensor],
                     prefix: str) -> None:
    version, internal, gauss = plain["python"]
    kind, position, has_gauss, cached = plain["numpy"]
    states = {
        "python": (version, tuple(internal), gauss),
        "numpy": (kind, tensors[f"{prefix}numpy_keys"].numpy().astype(np.uint32), position,
                  has_gauss, cached),
        "torch": tensors[f"{prefix}torch"],
        "loaders": {key[len(f"{prefix}loader."):]: value for key, value in tensors.items()
                    if key.startswith(f"{prefix}loader.")},
    }
    if plain.get("cuda_devices"):
        states["cuda"] = [tensors[f"{prefix}cuda.{i}"] for i in range(plain["cuda_devices"])]
    restore_rng(learn, states)


def _named_callbacks(learn: Learner) -> dict[str, Any]:
    """The learner's callbacks by a stable name: class name, and a number for repeats."""
    named: dict[str, Any] = {}
    for callback in learn.callbacks:
        base = type(callback).__name__
        name, count = base, 1
        while name in named:
            count += 1
            name = f"{base}{count}"
        named[name] = callback
    return named
