"""Find the text files of a corpus laid out in folders, as IMDb is (train/pos, test/neg ...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from briskml.errors import DataError

TEXT_SUFFIX = ".txt"


@dataclass
class FolderListing:
    """Text files in order, with their folder labels and which are training/validation."""

    files: list[Path]
    labels: list[str]
    train_docs: np.ndarray
    valid_docs: np.ndarray | None


def list_text_files(path: Path, train: str, valid: str | None, classes: Sequence[str] | None,
                    include: Sequence[str] | None, for_lm: bool) -> FolderListing:
    """The .txt files under path/train (and path/valid), one document each, sorted by name."""
    train_dir = _existing_folder(path, train, "train")
    valid_dir = _existing_folder(path, valid, "valid") if valid is not None else None
    roots = [train_dir] if valid_dir is None else [train_dir, valid_dir]
    if for_lm:
        parts = [_files_under(root, include) for root in roots]
        labels_per_part = [[""] * len(files) for files in parts]
    else:
        classes = list(classes) if classes is not None else _shared_classes(roots, include)
        listed = [_labelled_files(root, classes) for root in roots]
        parts = [files for files, _ in listed]
        labels_per_part = [labels for _, labels in listed]
    files = [file for part in parts for file in part]
    if not files:
        folders = ", ".join(f"'{root}'" for root in roots)
        raise DataError(f"No {TEXT_SUFFIX} files found under {folders}. Put one text file per "
                        f"document in a folder per class, e.g. '{train_dir / 'pos' / '0.txt'}'.")
    num_train = len(parts[0])
    valid_docs = np.arange(num_train, len(files)) if len(parts) > 1 else None
    labels = [label for part in labels_per_part for label in part]
    return FolderListing(files, labels, np.arange(num_train), valid_docs)


def _existing_folder(path: Path, name: str, argument: str) -> Path:
    folder = path / name
    if not folder.is_dir():
        raise DataError(f"Folder '{folder}' does not exist; pass {argument}=<sub-folder of "
                        f"'{path}'>" + (" or valid=None." if argument == "valid" else "."))
    return folder


def _files_under(root: Path, include: Sequence[str] | None) -> list[Path]:
    if include is None:
        return sorted(root.rglob(f"*{TEXT_SUFFIX}"))
    return [file for name in include for file in sorted((root / name).rglob(f"*{TEXT_SUFFIX}"))]


def _shared_classes(roots: list[Path], include: Sequence[str] | None) -> list[str]:
    """Class folders (holding text files) present under every root: train/unsup is left out."""
    found = [{child.name for child in root.iterdir()
              if child.is_dir() and any(child.rglob(f"*{TEXT_SUFFIX}"))} for root in roots]
    shared = set.intersection(*found)
    if include is not None:
        shared &= set(include)
    if not shared:
        raise DataError(f"No class folder with {TEXT_SUFFIX} files is shared by "
                        f"{[str(root) for root in roots]}; pass classes=[...] explicitly.")
    return sorted(shared)


def _labelled_files(root: Path, classes: list[str]) -> tuple[list[Path], list[str]]:
    files, labels = [], []
    for name in classes:
        found = sorted((root / name).rglob(f"*{TEXT_SUFFIX}"))
        files.extend(found)
        labels.extend([name] * len(found))
    return files, labels
