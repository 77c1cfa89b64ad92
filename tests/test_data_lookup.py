"""Finding named IDX data sets on disk: search order, folder layouts, checks and errors."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cli_support import run_cli

from mlpbench.data import list_datasets, load_dataset
from mlpbench.data.sources import FASHION_MNIST, IDX_DATASETS
from mlpbench.errors import DataError

PLACES = ("data_dir", "env", "cache", "system")


@pytest.mark.parametrize("winner", PLACES)
def test_lookup_order(data_env, tiny_idx, tmp_path, monkeypatch, winner) -> None:
    folders = {
        "data_dir": tmp_path / "given",
        "env": tmp_path / "env",
        "cache": data_env / "tiny",
        "system": tmp_path / "system",
    }
    # Every place exists, but only the winner and the places after it contain the files.
    for place, folder in folders.items():
        folder.mkdir(parents=True)
        if PLACES.index(place) >= PLACES.index(winner):
            tiny_idx.write(folder)
    monkeypatch.setenv("MLPBENCH_DATA", str(folders["env"]))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(system_dirs=(folders["system"],)))

    dataset = load_dataset("tiny", data_dir=folders["data_dir"], download=False)

    assert dataset.source.startswith(f"{folders[winner]} ")


@pytest.mark.parametrize(
    "layout",
    ["given", "given/raw", "given/tiny", "given/tiny/raw", "given/Tiny/raw"],
)
def test_lookup_folder_layouts(data_env, tiny_idx, tmp_path, monkeypatch, layout) -> None:
    tiny_idx.write(tmp_path / layout)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    dataset = load_dataset("tiny", data_dir=tmp_path / "given", download=False)

    assert dataset.source.startswith(f"{tmp_path / layout} ")


def test_lookup_environment_root_with_subfolder(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    tiny_idx.write(tmp_path / "datasets" / "tiny")
    monkeypatch.setenv("MLPBENCH_DATA", str(tmp_path / "datasets"))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    dataset = load_dataset("tiny", download=False)

    assert dataset.source.startswith(f"{tmp_path / 'datasets' / 'tiny'} ")


def test_lookup_prefers_named_subfolder(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    # Other files with the same names at the root must not be taken for this data set.
    other = type(tiny_idx)({key: value[::-1].copy() for key, value in tiny_idx.arrays.items()})
    other.write(tmp_path / "root")
    tiny_idx.write(tmp_path / "root" / "tiny")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    dataset = load_dataset("tiny", data_dir=tmp_path / "root", download=False)

    assert dataset.source.startswith(f"{tmp_path / 'root' / 'tiny'} ")
    np.testing.assert_array_equal(dataset.y_train, [0, 1, 2, 0, 1, 2])


def test_lookup_accepts_dotted_uncompressed_names(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "given"
    folder.mkdir()
    for name, body in tiny_idx.raw.items():
        (folder / name.replace("-idx", ".idx")).write_bytes(body)
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    dataset = load_dataset("tiny", data_dir=folder, download=False)

    assert dataset.source == f"{folder} (IDX, uncompressed, checksums verified)"


def test_lookup_recompressed_file_verified_by_content(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    # Different gzip header bytes (as in Debian's package), same content.
    folder = tiny_idx.write(tmp_path / "given")
    for name, body in tiny_idx.raw.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(body, compresslevel=1, mtime=12345))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    dataset = load_dataset("tiny", data_dir=folder, download=False)

    assert dataset.source == f"{folder} (IDX, gzip, checksums verified)"


def test_lookup_without_known_checksum(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    folder = tiny_idx.write(tmp_path / "given", compress=False)
    spec = tiny_idx.spec()
    no_sha256 = {
        attribute: replace(getattr(spec, attribute), sha256=None)
        for attribute in ("train_images", "train_labels", "test_images", "test_labels")
    }
    monkeypatch.setitem(IDX_DATASETS, "tiny", replace(spec, **no_sha256))

    dataset = load_dataset("tiny", data_dir=folder, download=False)

    assert "not the published .gz files, so their checksums could not be verified" in dataset.source
    assert dataset.x_train.shape == (6, 16)


def _without_sha256(spec):
    """Return ``spec`` as MNIST's is: the MD5 of each published .gz file, no SHA-256 of the content."""
    return replace(
        spec,
        **{
            attribute: replace(getattr(spec, attribute), sha256=None)
            for attribute in ("train_images", "train_labels", "test_images", "test_labels")
        },
    )


def test_changed_gzip_in_cache_rejected(data_env, tiny_idx, monkeypatch) -> None:
    # The download checked the MD5 before the file entered the cache, so a mismatch means it changed.
    monkeypatch.setitem(IDX_DATASETS, "tiny", _without_sha256(tiny_idx.spec()))
    cache = tiny_idx.write(data_env / "tiny")
    changed = cache / "train-labels-idx1-ubyte.gz"
    changed.write_bytes(gzip.compress(gzip.decompress(changed.read_bytes()), mtime=1))

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", download=False)

    message = str(caught.value)
    assert f"{changed} is in mlpbench's download cache, but its MD5 is " in message
    assert message.endswith("so it changed after the download; delete it to download it again")


def _cut_gzip_labels(folder: Path) -> Path:
    """Cut the end off the training labels' gzip file in ``folder``, so that it no longer decompresses."""
    damaged = folder / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-8])
    return damaged


def test_corrupt_gzip_in_cache_fix(data_env, tiny_idx, monkeypatch) -> None:
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())
    damaged = _cut_gzip_labels(tiny_idx.write(data_env / "tiny"))

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", download=False)

    message = str(caught.value)
    assert message.startswith(f"{damaged}: corrupt gzip stream (")
    assert message.endswith("; delete it to download it again")


def test_corrupt_gzip_outside_cache_fix(tiny_idx, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())
    folder = tiny_idx.write(tmp_path / "given")
    _cut_gzip_labels(folder)

    with pytest.raises(DataError, match="download or copy the file again$"):
        load_dataset("tiny", data_dir=folder, download=False)


def test_recompressed_gzip_outside_cache_accepted(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(IDX_DATASETS, "tiny", _without_sha256(tiny_idx.spec()))
    folder = tiny_idx.write(tmp_path / "given")
    for name, body in tiny_idx.raw.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(body, mtime=1))

    dataset = load_dataset("tiny", data_dir=folder, download=False)

    assert dataset.source.endswith("their checksums could not be verified; shapes checked only)")


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "uncompressed"])
def test_lookup_names_owning_data_set(data_env, tiny_idx, tmp_path, monkeypatch, compress) -> None:
    # Like MNIST, "other" has no SHA-256 and shares the file names and shapes, so only
    # the other set's checksums tell that these files are not its own.
    folder = tiny_idx.write(tmp_path / "given", compress=compress)
    spec = tiny_idx.spec()
    unknown = {
        attribute: replace(getattr(spec, attribute), md5="0" * 32, sha256=None)
        for attribute in ("train_images", "train_labels", "test_images", "test_labels")
    }
    monkeypatch.setitem(IDX_DATASETS, "tiny", spec)
    monkeypatch.setitem(IDX_DATASETS, "other", replace(spec, name="other", title="Other", **unknown))

    with pytest.raises(DataError) as caught:
        load_dataset("other", data_dir=folder, download=False)

    message = str(caught.value)
    assert "is the Tiny train images file, not Other's" in message
    assert message.endswith("use --dataset tiny")


def test_lookup_wrong_content_rejected(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    folder = tiny_idx.write(tmp_path / "given")
    changed = tiny_idx.arrays["test_labels"].copy()
    changed[0] = 1
    bad_file = folder / "t10k-labels-idx1-ubyte.gz"
    bad_file.write_bytes(gzip.compress(tiny_idx.raw["t10k-labels-idx1-ubyte"][:8] + changed.tobytes()))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", data_dir=folder, download=False)

    message = str(caught.value)
    assert str(bad_file) in message
    assert "test labels" in message
    assert "SHA-256" in message
    assert f"--dataset {folder}" in message


def _variant(tiny_idx, **arrays: np.ndarray):
    return type(tiny_idx)({**tiny_idx.arrays, **arrays})


@pytest.mark.parametrize("bad_label", [3, 255])
def test_lookup_label_out_of_range(data_env, tiny_idx, tmp_path, monkeypatch, bad_label) -> None:
    labels = np.array([0, 1, 2, bad_label, 1, 2], dtype=np.uint8)
    variant = _variant(tiny_idx, train_labels=labels)
    folder = variant.write(tmp_path / "given")
    monkeypatch.setitem(IDX_DATASETS, "tiny", variant.spec())

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", data_dir=folder, download=False)

    message = str(caught.value)
    assert str(folder / "train-labels-idx1-ubyte.gz") in message
    assert f"label {bad_label} at index 3" in message
    assert "0..2" in message


def test_lookup_label_count_mismatch(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    variant = _variant(tiny_idx, train_labels=np.array([0, 1, 2, 0, 1], dtype=np.uint8))
    folder = variant.write(tmp_path / "given")
    monkeypatch.setitem(IDX_DATASETS, "tiny", variant.spec())

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", data_dir=folder, download=False)

    message = str(caught.value)
    assert f"{folder / 'train-images-idx3-ubyte.gz'} contains 6 images" in message
    assert f"{folder / 'train-labels-idx1-ubyte.gz'} contains 5 labels" in message


def test_lookup_wrong_image_shape(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    variant = _variant(tiny_idx, test_images=np.zeros((3, 4, 5), dtype=np.uint8))
    folder = variant.write(tmp_path / "given")
    monkeypatch.setitem(IDX_DATASETS, "tiny", variant.spec())

    with pytest.raises(DataError, match=r"must have shape \(n, 4, 4\), the file contains \(3, 4, 5\)"):
        load_dataset("tiny", data_dir=folder, download=False)


def test_lookup_missing_everywhere_message(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    partial = tiny_idx.write(tmp_path / "given")
    (partial / "t10k-images-idx3-ubyte.gz").unlink()
    system = tmp_path / "system"
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(system_dirs=(system,)))

    with pytest.raises(DataError) as caught:
        load_dataset("tiny", data_dir=partial, download=False)

    message = str(caught.value)
    assert "train-images-idx3-ubyte[.gz]" in message
    assert f"--data-dir {partial}: incomplete, missing test images" in message
    assert "MLPBENCH_DATA: not set" in message
    assert f"cache {data_env / 'tiny'}: no such folder" in message
    assert f"system {system}: no such folder" in message
    assert "Download is disabled" in message
    assert "pass --data-dir DIR or set MLPBENCH_DATA=DIR" in message
    assert "apt install dataset-tiny" in message


def test_lookup_warns_on_skipped_given_folders(data_env, tiny_idx, tmp_path, monkeypatch, caplog) -> None:
    partial = tiny_idx.write(tmp_path / "given")
    (partial / "t10k-images-idx3-ubyte.gz").unlink()
    tiny_idx.write(data_env / "tiny")
    monkeypatch.setenv("MLPBENCH_DATA", str(tmp_path / "typo"))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    with caplog.at_level("WARNING", logger="mlpbench"):
        dataset = load_dataset("tiny", data_dir=partial, download=False)

    assert dataset.source.startswith(f"{data_env / 'tiny'} ")
    warnings = [record.getMessage() for record in caplog.records]
    used = f"so the files in {data_env / 'tiny'} were used instead"
    assert warnings == [
        f"--data-dir {partial}: incomplete, missing test images, {used}",
        f"MLPBENCH_DATA {tmp_path / 'typo'}: no such folder, {used}",
    ]


def test_lookup_silent_for_other_data_root(data_env, tiny_idx, tmp_path, monkeypatch, caplog) -> None:
    (tmp_path / "datasets").mkdir()
    tiny_idx.write(data_env / "tiny")
    monkeypatch.setenv("MLPBENCH_DATA", str(tmp_path / "datasets"))
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    with caplog.at_level("WARNING", logger="mlpbench"):
        load_dataset("tiny", download=False)

    assert caplog.records == []


def test_lookup_missing_data_dir_rejected(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    tiny_idx.write(data_env / "tiny")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    with pytest.raises(DataError, match=f"--data-dir {tmp_path / 'typo'}: no such folder"):
        load_dataset("tiny", data_dir=tmp_path / "typo", download=False)


def test_lookup_fashion_offline_names_apt_package(data_env, tmp_path, monkeypatch) -> None:
    no_system_copy = replace(FASHION_MNIST, system_dirs=(tmp_path / "not-installed",))
    monkeypatch.setitem(IDX_DATASETS, "fashion-mnist", no_system_copy)

    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist", download=False)

    message = str(caught.value)
    assert message.startswith("Fashion-MNIST files not found")
    assert "apt install dataset-fashion-mnist" in message
    assert "--data-dir DIR" in message
    assert "MLPBENCH_DATA=DIR" in message


def test_list_datasets_reports_locations(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    folder = tiny_idx.write(tmp_path / "given" / "tiny")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())
    monkeypatch.setitem(IDX_DATASETS, "absent", tiny_idx.spec("absent"))

    rows = {row["name"]: row for row in list_datasets(data_dir=tmp_path / "given")}

    assert {"digits", "mnist", "fashion-mnist", "tiny", "absent"} <= rows.keys()
    assert rows["tiny"]["available"] is True
    assert rows["tiny"]["location"] == str(folder)
    assert rows["absent"]["available"] is False
    assert rows["absent"]["location"] is None
    assert rows["digits"]["available"] is True
    assert rows["digits"]["location"].endswith("digits.csv.gz")
    assert rows["tiny"]["problem"] is None
    assert all(
        set(row) == {"name", "available", "location", "problem", "description"} for row in rows.values()
    )


def test_unknown_name_rejected(data_env) -> None:
    guess = r"unknown data set 'mnsit'; did you mean 'mnist'\? the named data sets are digits, mnist"
    with pytest.raises(DataError, match=guess):
        load_dataset("mnsit")
    with pytest.raises(DataError, match="unknown data set 'cifar10'; the named data sets are"):
        load_dataset("cifar10")


@pytest.mark.parametrize("command", ["train", "compare", "sweep", "profile"])
def test_unknown_name_exits_2(capsys, command) -> None:
    # A misspelt name is an invalid argument, rejected before any work like a bad flag.
    result = run_cli(capsys, command, "-q", "--dataset", "fasion-mnist")

    assert result.status == 2
    assert "unknown data set 'fasion-mnist'; did you mean 'fashion-mnist'?" in result.err
    assert result.out == ""


@pytest.mark.parametrize("name", ["fmnist", "f-mnist", "FashionMNIST", "fashion"])
def test_short_fashion_names_suggest_fashion_mnist(data_env, name) -> None:
    # A spelling match alone would suggest mnist, a download of another data set.
    with pytest.raises(DataError, match=f"unknown data set '{name}'; did you mean 'fashion-mnist'\\?"):
        load_dataset(name)


def test_missing_path_rejected(data_env, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder.*mlpbench datasets"):
        load_dataset(str(tmp_path / "nothing.npz"))


def test_invalid_dtype_rejected(data_env) -> None:
    with pytest.raises(ValueError, match="int32"):
        load_dataset("digits", dtype="int32")


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_name_rejected(name) -> None:
    with pytest.raises(DataError, match="the data set name is empty; give one of digits, mnist"):
        load_dataset(name)


def test_data_dir_for_digits_warns(tmp_path, caplog) -> None:
    with caplog.at_level("WARNING", logger="mlpbench"):
        load_dataset("digits", data_dir=tmp_path)

    assert f"the data folder {tmp_path} is searched only for mnist and fashion-mnist" in caplog.text


def test_damaged_cache_falls_back_to_system_copy(data_env, tiny_idx, tmp_path, monkeypatch, caplog) -> None:
    # mlpbench's own cache contains a damaged file (the last label turned from 2 into 0); the
    # system copy is good and is used instead.
    cache = tiny_idx.write(data_env / "tiny")
    damaged = cache / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(gzip.compress(tiny_idx.raw["train-labels-idx1-ubyte"][:-1] + b"\x00", mtime=0))
    system = tiny_idx.write(tmp_path / "system")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(system_dirs=(system,)))

    with caplog.at_level("WARNING", logger="mlpbench"):
        dataset = load_dataset("tiny", download=False)

    assert dataset.source.startswith(f"{system} ")
    np.testing.assert_array_equal(dataset.y_train, tiny_idx.arrays["train_labels"])
    assert f"files in the cache {cache} failed their check" in caplog.text
    assert f"the copy in {system} is used instead" in caplog.text
    # The damaged file's own advice would point at the cache, which is not used.
    assert "load its folder as a path" not in caplog.text


def _damage_labels(tiny_idx, cache: Path) -> Path:
    """Change the cached training labels' last byte: they decode, but their SHA-256 fails."""
    damaged = cache / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(gzip.compress(tiny_idx.raw["train-labels-idx1-ubyte"][:-1] + b"\x00", mtime=0))
    return damaged


def _damage_images(tiny_idx, cache: Path) -> Path:
    """Replace the cached training images with text: not gzip, and not IDX."""
    damaged = cache / "train-images-idx3-ubyte.gz"
    damaged.write_bytes(b"not gzip")
    return damaged


@pytest.mark.parametrize("damage", [_damage_images, _damage_labels], ids=["not-gzip", "checksum"])
def test_listing_names_copy_beyond_cache(data_env, tiny_idx, tmp_path, monkeypatch, damage):
    # The listing reports the copy that loading falls back to, and what failed in the cache
    # (both files fail the checksum), without the damaged file's own advice, which concerns
    # files that are not used.
    cache = tiny_idx.write(data_env / "tiny")
    damaged = damage(tiny_idx, cache)
    system = tiny_idx.write(tmp_path / "system")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(system_dirs=(system,)))

    row = next(row for row in list_datasets() if row["name"] == "tiny")

    assert row["available"] is True
    assert row["location"] == str(system)
    # The checksum's finding, or the parser's for a file that is not IDX at all.
    assert f"the files in the cache {cache} failed their check ({damaged}" in row["problem"]
    assert f"deleting {cache} lets a later download replace them" in row["problem"]
    assert "load its folder as a path" not in row["problem"]
    assert "--dataset" not in row["problem"]


def test_list_datasets_damaged_cache_alone(data_env, tiny_idx, monkeypatch) -> None:
    cache = tiny_idx.write(data_env / "tiny")
    (cache / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())

    row = next(row for row in list_datasets() if row["name"] == "tiny")

    assert row["available"] is False
    assert row["location"] == str(cache)
    assert "train-images-idx3-ubyte.gz: not an IDX file" in row["problem"]


def test_truncated_file_named_before_its_checksum(tiny_idx, tmp_path, monkeypatch) -> None:
    # A truncated file fails its checksum too, but the parser names what is wrong with it.
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec())
    folder = tiny_idx.write(tmp_path / "given", compress=False)
    truncated = folder / "train-images-idx3-ubyte"
    truncated.write_bytes(truncated.read_bytes()[:-5])

    with pytest.raises(DataError, match="so it is truncated") as caught:
        load_dataset("tiny", data_dir=folder, download=False)

    assert "SHA-256" not in str(caught.value)


def test_damaged_named_folder_is_not_passed_over(data_env, tiny_idx, tmp_path, monkeypatch) -> None:
    # A folder the user named is what they asked for: its damage is an error, not a detour.
    given = tiny_idx.write(tmp_path / "given")
    (given / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x01\x05", mtime=0))
    system = tiny_idx.write(tmp_path / "system")
    monkeypatch.setitem(IDX_DATASETS, "tiny", tiny_idx.spec(system_dirs=(system,)))

    with pytest.raises(DataError, match="train labels"):
        load_dataset("tiny", data_dir=given, download=False)
