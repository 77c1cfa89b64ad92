"""``mlpbench datasets``: the named data sets and where each is found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_support import run_cli


def test_table_lists_named_datasets(capsys, data_env: Path):
    result = run_cli(capsys, "datasets")

    assert result.status == 0, result.err
    for name in ("digits", "mnist", "fashion-mnist"):
        assert f" {name} " in result.out
    assert "available" in result.out
    assert "location" in result.out


def test_help_names_search_order_and_variables(capsys):
    result = run_cli(capsys, "datasets", "--help")

    assert result.status == 0
    text = " ".join(result.out.split())
    for name in ("--data-dir", "$MLPBENCH_DATA", "$XDG_CACHE_HOME", "$MLPBENCH_MIRRORS"):
        assert name in text
    assert "the four files or a NAME subfolder" in text


def test_json_reports_unusable_files(capsys, data_env: Path, tmp_path: Path, tiny_idx):
    # IDX files with MNIST's names but a few images only, which loading rejects.
    folder = tiny_idx.write(tmp_path / "data" / "mnist")

    result = run_cli(capsys, "datasets", "--json", "--data-dir", tmp_path / "data")

    assert result.status == 0, result.err
    rows = {row["name"]: row for row in json.loads(result.out)}
    assert set(rows) >= {"digits", "mnist", "fashion-mnist"}
    assert rows["mnist"]["available"] is False
    assert rows["mnist"]["location"] == str(folder)
    assert "MNIST images must have shape (n, 28, 28)" in rows["mnist"]["problem"]
    assert rows["digits"]["available"] is True
    assert rows["digits"]["problem"] is None
    assert all(isinstance(row["description"], str) for row in rows.values())


def test_table_names_unusable_files(capsys, data_env: Path, tmp_path: Path, tiny_idx):
    tiny_idx.write(tmp_path / "data" / "mnist")

    result = run_cli(capsys, "datasets", "--data-dir", tmp_path / "data")

    assert result.status == 0, result.err
    # The location cell wraps over several lines, so its pieces are joined first.
    cells = [line.split("│") for line in result.out.splitlines() if line.startswith("│")]
    location = " ".join(" ".join(cell[3].strip() for cell in cells).split())
    assert "found, but cannot be loaded:" in location
    assert "MNIST images must have shape (n, 28, 28)" in location


def test_json_reports_bad_labels(
    capsys, data_env: Path, tmp_path: Path, tiny_idx, monkeypatch: pytest.MonkeyPatch
):
    from mlpbench.data.sources import IDX_DATASETS

    variant = type(tiny_idx)({**tiny_idx.arrays, "test_labels": np.array([0, 3, 1], dtype=np.uint8)})
    folder = variant.write(tmp_path / "data" / "tiny")
    monkeypatch.setitem(IDX_DATASETS, "tiny", variant.spec())

    result = run_cli(capsys, "datasets", "--json", "--data-dir", tmp_path / "data")

    assert result.status == 0, result.err
    row = {row["name"]: row for row in json.loads(result.out)}["tiny"]
    assert row["available"] is False
    assert row["location"] == str(folder)
    assert "label 3 at index 1 is outside 0..2" in row["problem"]


def test_json_missing_dataset(capsys, data_env: Path, tmp_path: Path):
    (tmp_path / "empty").mkdir()

    result = run_cli(capsys, "datasets", "--json", "--data-dir", tmp_path / "empty")

    assert result.status == 0, result.err
    rows = {row["name"]: row for row in json.loads(result.out)}
    assert rows["mnist"]["available"] is False
    assert rows["mnist"]["location"] is None


def test_table_shows_missing_as_not_found(capsys, data_env: Path, tmp_path: Path):
    (tmp_path / "empty").mkdir()

    result = run_cli(capsys, "datasets", "--data-dir", tmp_path / "empty")

    assert result.status == 0, result.err
    mnist_line = next(line for line in result.out.splitlines() if " mnist " in line)
    assert " no " in mnist_line
    assert "not found locally; downloaded into the cache on first use" in mnist_line


def test_missing_data_dir_rejected(capsys, data_env: Path, tmp_path: Path):
    result = run_cli(capsys, "datasets", "--data-dir", tmp_path / "absent")

    # A path that is not there is an invalid argument, like a bad flag value.
    assert result.status == 2
    assert f"--data-dir {tmp_path / 'absent'}: no such folder; give the folder that contains" in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_closed_stdout_exits_quietly(tmp_path: Path, output: list[str]):
    # The reading end is closed before the child writes, as when `| head` has exited.
    # The table goes through rich, the JSON through print.
    command = [sys.executable, "-m", "mlpbench", "datasets", *output]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert child.stdout is not None
    child.stdout.close()
    _, stderr = child.communicate(timeout=120)

    assert child.returncode == 1
    assert b"Broken pipe" not in stderr
    assert b"error" not in stderr
