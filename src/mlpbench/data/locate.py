"""Find the four IDX files of a named data set on disk.

The search order is: the ``data_dir`` argument (the CLI's ``--data-dir``), the
folder in ``MLPBENCH_DATA``, the user cache, then the system folders of the data
set (such as ``/usr/share/datasets/fashion-mnist``). The first folder that
contains all four files wins.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from mlpbench.data.sources import DATA_ENV, IdxDatasetSpec, IdxFile, cache_dir
from mlpbench.errors import InputNotFoundError

logger = logging.getLogger("mlpbench")

DATA_DIR_LABEL = "--data-dir"
"""The label of the folder given with ``--data-dir`` in search reports."""


@dataclass(frozen=True)
class SearchRoot:
    """A place named in the search order, and the folders checked inside it."""

    label: str
    path: Path | None
    folders: tuple[Path, ...]


@dataclass
class FolderMatch:
    """The files of a data set found in one folder, by role (``"train images"`` ...)."""

    folder: Path
    paths: dict[str, Path] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    # Further copies of a role's file under other accepted names, which are not read.
    ignored: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


def candidate_folders(root: Path, spec: IdxDatasetSpec) -> tuple[Path, ...]:
    """Return the folders under a user-given ``root`` that may hold ``spec``'s files.

    A root may hold one folder per data set (``ROOT/fashion-mnist``), torchvision's
    layout (``ROOT/FashionMNIST/raw``), or the files themselves (``ROOT`` or
    ``ROOT/raw``). Per-data-set folders come first because MNIST and Fashion-MNIST
    use the same file names.
    """
    folders = [root / spec.name, root / spec.name / "raw"]
    if spec.torchvision_folder:
        folders.append(root / spec.torchvision_folder / "raw")
    folders += [root / "raw", root]
    return tuple(folders)


def search_roots(spec: IdxDatasetSpec, data_dir: str | Path | None) -> list[SearchRoot]:
    """Return the places to search for ``spec``'s files, in priority order.

    Raises
    ------
    DataError
        If ``data_dir`` is given but is not a folder, which is most likely a typo.
    """
    roots = []
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise InputNotFoundError(
                f"--data-dir {path}: no such folder; give the folder that contains the files, or leave "
                "--data-dir out to search the usual places"
            )
        roots.append(SearchRoot(DATA_DIR_LABEL, path, candidate_folders(path, spec)))
    env_value = os.environ.get(DATA_ENV, "")
    if env_value:
        path = Path(env_value).expanduser()
        roots.append(SearchRoot(DATA_ENV, path, candidate_folders(path, spec)))
    else:
        roots.append(SearchRoot(DATA_ENV, None, ()))
    cache = cache_dir(spec.name)
    roots.append(SearchRoot("cache", cache, (cache,)))
    for system_dir in spec.system_dirs:
        roots.append(SearchRoot("system", system_dir, (system_dir,)))
    return roots


def match_folder(folder: Path, files: dict[str, IdxFile]) -> FolderMatch:
    """Look for each of ``files`` in ``folder`` under the names it accepts."""
    match = FolderMatch(folder)
    for role, idx_file in files.items():
        found = [folder / name for name in idx_file.accepted_names() if (folder / name).is_file()]
        if not found:
            match.missing.append(role)
            continue
        match.paths[role] = found[0]
        if len(found) > 1:
            match.ignored[role] = found[1:]
    return match


def log_ignored_copies(match: FolderMatch) -> None:
    """Log each file of ``match`` that has another copy in its folder, which is not read.

    A second copy (a gunzipped one beside the .gz, say) may differ from the one used,
    as when it was truncated.
    """
    for role, others in match.ignored.items():
        names = ", ".join(path.name for path in others)
        used = match.paths[role].name
        logger.info("%s: read %s and ignored %s, another copy of it", match.folder, used, names)


@dataclass
class SearchResult:
    """The outcome of a search: the first complete folder, and a line per place searched.

    ``passed_over`` repeats the report's lines about places the user named that held
    no complete set: ``--data-dir``, or ``MLPBENCH_DATA`` set to a missing folder.
    """

    found: FolderMatch | None
    report: list[str]
    passed_over: list[str] = field(default_factory=list)


def locate(spec: IdxDatasetSpec, data_dir: str | Path | None, *, skip: Path | None = None) -> SearchResult:
    """Search the places of ``search_roots`` in order and return the first complete folder.

    ``skip`` leaves out the place with that path, as when its files failed their check.
    """
    files = spec.files()
    report = []
    passed_over = []
    for root in search_roots(spec, data_dir):
        if skip is not None and root.path == skip:
            continue
        if root.path is None:
            report.append(f"{root.label}: not set")
            continue
        if not root.path.is_dir():
            report.append(f"{root.label} {root.path}: no such folder")
            if root.label == DATA_ENV:
                passed_over.append(report[-1])
            continue
        partial = None
        for folder in root.folders:
            if not folder.is_dir():
                continue
            match = match_folder(folder, files)
            if match.complete:
                return SearchResult(match, report, passed_over)
            if match.paths and partial is None:
                partial = match
        if partial is not None:
            missing = ", ".join(partial.missing)
            report.append(f"{root.label} {partial.folder}: incomplete, missing {missing}")
        else:
            report.append(f"{root.label} {root.path}: no {spec.title} files")
        if root.label == DATA_DIR_LABEL:
            passed_over.append(report[-1])
    return SearchResult(None, report, passed_over)
