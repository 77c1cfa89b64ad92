"""Parameter files: round trips, cross-loading between engines, rejected files, atomic saves, resume."""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_support import damage_npy_header
from sklearn.datasets import make_blobs

from mlpbench import NumpyMLP, TorchMLP
from mlpbench.engines.base import MLPEstimator
from mlpbench.errors import CheckpointError, DataError
from mlpbench.training.zeroing import ZeroingSchedule

ENGINES = [pytest.param(NumpyMLP, id="numpy"), pytest.param(TorchMLP, id="torch")]
SUFFIXES = [".npz", ".pt"]


class Payload:
    """A plain Python object; ``torch.load(..., weights_only=True)`` must not unpickle it."""

    def __init__(self) -> None:
        self.note = "not a tensor"


class UnpickleRecorder:
    """Records each time pickle rebuilds an instance, which loading a checkpoint must never do."""

    rebuilt: list[dict] = []

    def __init__(self) -> None:
        self.note = "not an array of numbers"

    def __setstate__(self, state: dict) -> None:
        UnpickleRecorder.rebuilt.append(state)
        self.__dict__.update(state)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    # 250 rows in batches of 32 leave a partial last batch of 26.
    X, y = make_blobs(n_samples=250, n_features=6, centers=4, random_state=0)
    return X / 10, y


def train(
    engine: type[MLPEstimator],
    blobs: tuple[np.ndarray, np.ndarray],
    dtype: str = "float32",
    **settings: object,
) -> MLPEstimator:
    X, y = blobs
    config: dict[str, object] = {
        "hidden": [16, 8],
        "epochs": 3,
        "batch_size": 32,
        "lr": 0.05,
        "momentum": 0.9,
        "weight_decay": 1e-3,
        "schedule": "cosine",
        "dtype": dtype,
        "seed": 0,
        # One thread: these nets are too small to gain from more, and the machine is shared.
        "threads": 1,
    }
    config.update(settings)
    return engine(**config).fit(X, y)


def temp_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if ".tmp" in path.name)


# ----- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(
    tmp_path: Path,
    blobs: tuple[np.ndarray, np.ndarray],
    engine: type[MLPEstimator],
    suffix: str,
    dtype: str,
) -> None:
    X, _ = blobs
    model = train(engine, blobs, dtype)
    path = tmp_path / f"model{suffix}"

    model.save(path)
    loaded = engine.load(path)

    assert loaded.dtype == dtype
    assert loaded.hidden == (16, 8)
    assert loaded.epoch_ == 3
    for layer, ((W1, b1), (W2, b2)) in enumerate(
        zip(model.get_parameters(), loaded.get_parameters(), strict=True)
    ):
        assert W2.dtype == np.dtype(dtype), f"W{layer}"
        np.testing.assert_array_equal(W2, W1, err_msg=f"W{layer}")
        np.testing.assert_array_equal(b2, b1, err_msg=f"b{layer}")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_npz_holds_named_arrays(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    model = train(NumpyMLP, blobs, "float32")
    path = model.save(tmp_path / "model.npz")

    with np.load(path, allow_pickle=False) as data:
        names = set(data.files)
        W0 = data["W0"]

    assert {"layer_sizes", "W0", "b0", "W1", "b1", "W2", "b2", "momentum_W0"} <= names
    assert W0.shape == (6, 16)
    assert W0.dtype == np.float32


def test_pt_holds_linear_layout(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    model = train(TorchMLP, blobs, "float32")
    path = model.save(tmp_path / "model.pt")

    payload = torch.load(path, weights_only=True)

    assert payload["layer_sizes"] == [6, 16, 8, 4]
    assert payload["state_dict"]["layers.0.weight"].shape == (16, 6)
    assert payload["state_dict"]["layers.0.weight"].dtype == torch.float32


# ----- cross-loading --------------------------------------------------------------------

CROSS = [
    pytest.param(NumpyMLP, TorchMLP, ".npz", id="numpy-npz-to-torch"),
    pytest.param(NumpyMLP, TorchMLP, ".pt", id="numpy-pt-to-torch"),
    pytest.param(TorchMLP, NumpyMLP, ".pt", id="torch-pt-to-numpy"),
    pytest.param(TorchMLP, NumpyMLP, ".npz", id="torch-npz-to-numpy"),
]


@pytest.mark.parametrize(("trainer", "reader", "suffix"), CROSS)
@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-6), ("float64", 1e-12)])
def test_cross_loaded_predictions_match(
    tmp_path: Path,
    blobs: tuple[np.ndarray, np.ndarray],
    trainer: type[MLPEstimator],
    reader: type[MLPEstimator],
    suffix: str,
    dtype: str,
    tolerance: float,
) -> None:
    X, _ = blobs
    model = train(trainer, blobs, dtype)
    path = model.save(tmp_path / f"model{suffix}")

    loaded = reader.load(path)

    assert isinstance(loaded, reader)
    assert loaded.dtype == dtype
    for layer, ((W1, b1), (W2, b2)) in enumerate(
        zip(model.get_parameters(), loaded.get_parameters(), strict=True)
    ):
        np.testing.assert_array_equal(W2, W1, err_msg=f"W{layer}")
        np.testing.assert_array_equal(b2, b1, err_msg=f"b{layer}")
    expected = model.predict_proba(X)
    actual = loaded.predict_proba(X)
    assert actual.dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ----- rejected files -------------------------------------------------------------------


def rewrite_npz(source: Path, target: Path, **replacements: np.ndarray) -> Path:
    with np.load(source, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(replacements)
    np.savez(target, **arrays)
    return target


@pytest.mark.parametrize("reader", ENGINES)
def test_npz_with_wrong_shape_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], reader: type[MLPEstimator]
) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    bad = rewrite_npz(good, tmp_path / "bad.npz", W1=np.zeros((16, 9), dtype=np.float32))

    with pytest.raises(CheckpointError) as error:
        reader.load(bad)

    message = str(error.value)
    assert "W1" in message
    assert "(16, 9)" in message
    assert "(16, 8)" in message


@pytest.mark.parametrize("reader", ENGINES)
def test_pt_with_wrong_shape_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], reader: type[MLPEstimator]
) -> None:
    good = train(TorchMLP, blobs).save(tmp_path / "good.pt")
    payload = torch.load(good, weights_only=True)
    payload["state_dict"]["layers.0.weight"] = torch.zeros(16, 5)
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)

    with pytest.raises(CheckpointError) as error:
        reader.load(bad)

    message = str(error.value)
    assert "W0" in message
    assert "(5, 16)" in message
    assert "(6, 16)" in message


@pytest.mark.parametrize("reader", ENGINES)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_other_architecture_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], reader: type[MLPEstimator], suffix: str
) -> None:
    path = train(NumpyMLP, blobs).save(tmp_path / f"model{suffix}")

    with pytest.raises(CheckpointError) as error:
        reader.load(path, hidden=[16, 12])

    message = str(error.value)
    assert "layer 1" in message
    assert "(16, 8)" in message
    assert "(16, 12)" in message


def test_fewer_layers_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    path = train(NumpyMLP, blobs).save(tmp_path / "model.npz")

    with pytest.raises(CheckpointError, match="layer 1"):
        NumpyMLP.load(path, hidden=[16])


def test_missing_array_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    with np.load(good, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "b2"}
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)

    with pytest.raises(CheckpointError, match="missing array b2") as caught:
        NumpyMLP.load(bad)
    assert "so it was edited or damaged; save the model again" in str(caught.value)


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        pytest.param({"layer_sizes": np.array([6, 16], dtype=np.int64)}, "has W1, but", id="fewer-sizes"),
        pytest.param({"W3": np.zeros((8, 4), dtype=np.float32)}, "has W3, but", id="extra-array"),
        pytest.param({"layer_sizes": np.array([6.5, 16, 8, 4])}, "'layer_sizes' entry is 6.5", id="size"),
        pytest.param({"epoch": np.array(-3)}, "'epoch' entry is -3", id="negative-epoch"),
        pytest.param({"epoch": np.array("three")}, "'epoch' entry is 'three'", id="text-epoch"),
        pytest.param({"format_version": np.array(99)}, "format version 99", id="newer-version"),
        pytest.param({"format": np.array("other")}, "format entry is 'other'", id="other-format"),
        pytest.param({"engine": np.array("tensorflow")}, "engine entry is 'tensorflow'", id="engine"),
        pytest.param({"dtype": np.array("float16")}, "dtype entry is 'float16'", id="dtype"),
        pytest.param({"W0": np.zeros((6, 16), dtype=np.int32)}, "W0 has dtype int32", id="int-weights"),
        pytest.param({"w0": np.zeros((6, 16), dtype=np.float32)}, "unknown array 'w0'", id="unknown-array"),
        pytest.param({"config": np.array("[1]")}, "'config' entry must be a JSON object", id="config-list"),
        pytest.param(
            {"config": np.array('{"max_iter": 3}')}, "setting 'max_iter', which mlpbench", id="unknown"
        ),
        pytest.param({"history": np.array("{}")}, "'history' entry must be a JSON list", id="history"),
        pytest.param({"history": np.array("[1, 2]")}, "record 1 of its 'history' entry is a", id="record"),
        pytest.param(
            {"history": np.array('[{"train_loss": "low"}]')}, "has train_loss='low'", id="history-text"
        ),
        pytest.param({"dataset": np.array("[1]")}, "'dataset' entry must be a JSON object", id="dataset"),
        pytest.param({"dataset": np.array('{"name": 5}')}, "has name=5, which should be a string", id="name"),
        pytest.param(
            {"dataset": np.array('{"class_names": [1, 2]}')}, "should list strings", id="class-names"
        ),
    ],
)
def test_edited_npz_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], replacements: dict, expected: str
) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    bad = rewrite_npz(good, tmp_path / "bad.npz", **replacements)

    with pytest.raises(CheckpointError) as error:
        NumpyMLP.load(bad)

    assert expected in str(error.value)
    assert "bad.npz" in str(error.value)


def _with_config(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], **changes: object) -> Path:
    """Save a trained model whose stored config has ``changes``, as an edited or older file would."""
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    with np.load(good, allow_pickle=False) as data:
        config = json.loads(str(data["config"]))
    config.update(changes)
    return rewrite_npz(good, tmp_path / "changed.npz", config=np.array(json.dumps(config)))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"lr": "x"}, "lr must be a number", id="text-lr"),
        pytest.param({"momentum": 1.5}, "momentum must be in [0, 1)", id="momentum"),
    ],
)
def test_load_names_invalid_stored_setting(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], changes: dict, expected: str
) -> None:
    path = _with_config(tmp_path, blobs, **changes)

    with pytest.raises(CheckpointError) as error:
        NumpyMLP.load(path)

    message = str(error.value)
    assert message.startswith(f"{path}: a setting stored in it is invalid (")
    assert expected in message
    assert "pass that setting to load() with a valid value to replace it" in message


def test_load_override_replaces_invalid_stored_setting(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    X, _ = blobs
    path = _with_config(tmp_path, blobs, lr="x")

    model = NumpyMLP.load(path, lr=0.1)

    assert model.lr == 0.1
    assert model.predict(X).shape == (len(X),)


@pytest.mark.parametrize("cls", ENGINES)
def test_load_reads_seed_an_older_version_allowed(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], cls: type[MLPEstimator]
) -> None:
    # An older mlpbench wrote seeds beyond 2**32 - 1. Restoring does not use the seed, so
    # such a file loads and predicts, and fit checks the seed as it checks every setting.
    X, y = blobs
    path = _with_config(tmp_path, blobs, seed=5_000_000_000)

    model = cls.load(path)

    assert model.predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match="seed must be at most"):
        model.set_params(warm_start=True, epochs=model.epoch_ + 1).fit(X, y)


@pytest.mark.parametrize("stored", [{}, {"lr": "x"}], ids=["valid-file", "invalid-lr-in-file"])
def test_load_invalid_override_raises_its_own_error(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], stored: dict
) -> None:
    # The override is at fault, and its own error is raised, whatever else the file holds.
    path = _with_config(tmp_path, blobs, **stored)

    with pytest.raises(ValueError, match="batch_size") as error:
        NumpyMLP.load(path, batch_size=0)

    assert not isinstance(error.value, CheckpointError)


def test_npz_missing_one_momentum_array_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    with np.load(good, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "momentum_W0"}
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)

    with pytest.raises(CheckpointError, match="missing array momentum_W0"):
        NumpyMLP.load(bad)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(lambda p: p["state_dict"].update(x=torch.zeros(2)), "unknown tensor 'x'", id="extra"),
        pytest.param(
            lambda p: p["state_dict"].update({"layers.3.bias": torch.ones(2)}), "has layers.3", id="layer"
        ),
        pytest.param(lambda p: p.update(momentum={}), "'momentum' entry is missing tensor", id="momentum"),
        pytest.param(lambda p: p.update(epoch="three"), "'epoch' entry is 'three'", id="epoch"),
        pytest.param(lambda p: p.update(layer_sizes="abc"), "'layer_sizes' entry 'abc'", id="sizes"),
        pytest.param(lambda p: p.update(dataset="[1]"), "'dataset' entry must be a JSON", id="dataset"),
        pytest.param(lambda p: p.update(config="[1]"), "'config' entry must be a JSON object", id="config"),
        pytest.param(
            lambda p: p.update(config='{"device": "cpu"}'), "setting 'device', which mlpbench", id="device"
        ),
    ],
)
def test_edited_pt_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], edit, expected: str
) -> None:
    good = train(TorchMLP, blobs).save(tmp_path / "good.pt")
    payload = torch.load(good, weights_only=True)
    edit(payload)
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)

    with pytest.raises(CheckpointError) as error:
        TorchMLP.load(bad)

    assert expected in str(error.value)


def test_object_array_in_npz_not_unpickled(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    bad = rewrite_npz(good, tmp_path / "bad.npz", W0=np.array([UnpickleRecorder()], dtype=object))
    UnpickleRecorder.rebuilt.clear()

    with pytest.raises(CheckpointError, match="not a readable .npz file") as error:
        NumpyMLP.load(bad)

    assert UnpickleRecorder.rebuilt == []
    assert "an array holds Python objects, which mlpbench does not load" in str(error.value)
    assert "truncated" not in str(error.value)


def test_damaged_array_header_in_npz_named(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    bad = damage_npy_header(rewrite_npz(good, tmp_path / "bad.npz"), "W0")

    with pytest.raises(CheckpointError) as error:
        NumpyMLP.load(bad)

    assert f"{bad} is not a readable .npz file (an array's header is damaged)" in str(error.value)


def test_non_finite_parameter_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    good = train(NumpyMLP, blobs).save(tmp_path / "good.npz")
    b0 = np.zeros(16, dtype=np.float32)
    b0[3] = np.nan
    bad = rewrite_npz(good, tmp_path / "bad.npz", b0=b0)

    with pytest.raises(CheckpointError, match="b0 contains NaN"):
        NumpyMLP.load(bad)


def test_pickled_object_in_pt_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    good = train(TorchMLP, blobs).save(tmp_path / "good.pt")
    payload = torch.load(good, weights_only=True)
    payload["extra"] = Payload()
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)

    with pytest.raises(CheckpointError, match="weights_only=True"):
        NumpyMLP.load(bad)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        TorchMLP.load(bad)


CORRUPT_CONTENTS = [
    pytest.param(b"this is not a checkpoint", id="text"),
    pytest.param(b"", id="empty"),
    pytest.param(b"PK\x03\x04 half a zip archive", id="truncated-zip"),
    # Raw bytes that the pickle reader takes for a pickle stream.
    pytest.param(bytes(np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8)), id="random-bytes"),
]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("content", CORRUPT_CONTENTS)
def test_corrupt_file_rejected(tmp_path: Path, suffix: str, content: bytes) -> None:
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes(content)

    with pytest.raises(CheckpointError, match="not a readable") as caught:
        NumpyMLP.load(path)
    assert "pickle" not in str(caught.value), "a text or random file is not a pickle"
    assert "save the model again" in str(caught.value)


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        NumpyMLP.load(tmp_path / "absent.npz")


def test_foreign_npz_rejected(tmp_path: Path) -> None:
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.zeros(3))

    with pytest.raises(CheckpointError, match="layer_sizes"):
        NumpyMLP.load(path)


def _flip_bytes_in_member(path: Path, member_suffix: str) -> None:
    """Invert 16 bytes in the middle of the stored (uncompressed) data of one zip member."""
    with zipfile.ZipFile(path) as archive:
        info = next(item for item in archive.infolist() if item.filename.endswith(member_suffix))
    content = bytearray(path.read_bytes())
    # A local file header is 30 bytes, then the file name and the extra field.
    lengths = content[info.header_offset + 26 : info.header_offset + 30]
    name_length, extra_length = struct.unpack("<HH", lengths)
    start = info.header_offset + 30 + name_length + extra_length + info.file_size // 2 - 8
    content[start : start + 16] = bytes(255 - value for value in content[start : start + 16])
    path.write_bytes(bytes(content))


def test_damaged_pt_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    path = train(NumpyMLP, blobs).save(tmp_path / "model.pt")
    # The first layer's weights are the largest tensor in the archive.
    sizes = {}
    with zipfile.ZipFile(path) as archive:
        for item in archive.infolist():
            if "/data/" in item.filename:
                sizes[item.filename] = item.file_size
    largest = max(sizes, key=sizes.__getitem__)
    _flip_bytes_in_member(path, largest)

    with pytest.raises(CheckpointError, match="fails the CRC-32 check; save the model again"):
        NumpyMLP.load(path)


def test_fifo_rejected_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    os.mkfifo(path)

    with pytest.raises(CheckpointError, match="model.npz is not a regular file; give a .npz or .pt file"):
        NumpyMLP.load(path)


def test_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a folder; give the .npz or .pt file inside it"):
        NumpyMLP.load(tmp_path)


@pytest.mark.parametrize("entry", ["config", "history"])
def test_npz_with_invalid_json_rejected(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], entry: str
) -> None:
    path = train(NumpyMLP, blobs).save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays[entry] = np.array("hidden: [16, 8]")
    np.savez(path, **arrays)

    with pytest.raises(CheckpointError, match=f"its '{entry}' entry is not valid JSON"):
        NumpyMLP.load(path)


@pytest.mark.parametrize("suffix", [".NPZ", ".Pt"])
def test_suffix_case_ignored(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], suffix: str) -> None:
    model = train(NumpyMLP, blobs)

    loaded = NumpyMLP.load(model.save(tmp_path / f"model{suffix}"))

    np.testing.assert_array_equal(loaded.predict_proba(blobs[0]), model.predict_proba(blobs[0]))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", ["float16", "int32"])
def test_load_rejects_unsupported_dtype(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], engine: type[MLPEstimator], dtype: str
) -> None:
    path = train(NumpyMLP, blobs).save(tmp_path / "model.npz")

    with pytest.raises(ValueError, match=f"dtype must be one of float32, float64, got '{dtype}'"):
        engine.load(path, dtype=dtype)


# ----- failed saves ---------------------------------------------------------------------


def test_unknown_suffix_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    model = train(NumpyMLP, blobs)

    with pytest.raises(CheckpointError, match=r"\.npz or \.pt"):
        model.save(tmp_path / "model.h5")

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("saved", "expected"), [(".npz", ".npz"), (".pt", ".pt")])
@pytest.mark.parametrize("name", ["model", "model.bin"])
def test_model_without_suffix_named(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], saved: str, expected: str, name: str
) -> None:
    source = train(NumpyMLP, blobs).save(tmp_path / f"source{saved}")
    path = tmp_path / name
    path.write_bytes(source.read_bytes())

    message = f"{re.escape(name)} contains a model, so rename it to end in {expected}$"
    with pytest.raises(CheckpointError, match=message):
        NumpyMLP.load(path)


def test_unknown_suffix_plain_file_no_hint(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a model")

    with pytest.raises(CheckpointError) as error:
        NumpyMLP.load(path)

    assert "rename" not in str(error.value)


def test_sklearn_model_save_rejected(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    from mlpbench.checkpoint import save_checkpoint
    from mlpbench.engines.sklearn_engine import SklearnMLP

    X, y = blobs
    model = SklearnMLP(hidden=[8], epochs=2, batch_size=32, seed=0).fit(X, y)

    with pytest.raises(CheckpointError, match="the sklearn engine cannot save checkpoints"):
        save_checkpoint(model, tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


def test_unfitted_save_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not fitted"):
        NumpyMLP().save(tmp_path / "model.npz")

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    "content", [b"my notes\n", b"PK\x03\x04" + bytes(100)], ids=["text", "other-zip"]
)
def test_save_keeps_file_that_is_no_model(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], suffix: str, content: bytes
) -> None:
    model = train(NumpyMLP, blobs)
    path = tmp_path / f"notes{suffix}"
    path.write_bytes(content)

    with pytest.raises(CheckpointError, match=f"notes\\{suffix}: it already exists and is not an mlpbench"):
        model.save(path)

    assert path.read_bytes() == content
    assert temp_files(tmp_path) == []


def test_save_keeps_user_npz_archive(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, X=blobs[0])
    before = path.read_bytes()

    with pytest.raises(CheckpointError, match="delete that file first if it may go"):
        train(TorchMLP, blobs).save(path)

    assert path.read_bytes() == before


@pytest.mark.parametrize("first", SUFFIXES)
@pytest.mark.parametrize("second", SUFFIXES)
def test_save_replaces_model_file(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], first: str, second: str
) -> None:
    path = tmp_path / f"model{second}"
    # A .pt archive saved under .npz too, as a renamed file would be.
    path.write_bytes(train(TorchMLP, blobs, epochs=1).save(tmp_path / f"first{first}").read_bytes())
    model = train(NumpyMLP, blobs)

    model.save(path)

    np.testing.assert_array_equal(NumpyMLP.load(path).predict_proba(blobs[0]), model.predict_proba(blobs[0]))


def test_save_fills_empty_file(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    path = tmp_path / "model.npz"
    path.touch()

    train(NumpyMLP, blobs).save(path)

    assert NumpyMLP.load(path).is_fitted


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_save_into_missing_folder(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], suffix: str
) -> None:
    model = train(NumpyMLP, blobs)
    target = tmp_path / "absent" / f"model{suffix}"

    with pytest.raises(CheckpointError, match="does not exist"):
        model.save(target)

    assert not target.parent.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_npz_write_keeps_old_file(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = train(NumpyMLP, blobs)
    path = model.save(tmp_path / "model.npz")
    old_bytes = path.read_bytes()

    def failing_savez(file: object, *args: object, **kwargs: object) -> None:
        file.write(b"PK\x03\x04 half an archive")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(CheckpointError, match="No space left on device") as error:
        train(NumpyMLP, blobs, seed=1).save(path)

    assert "previous file is unchanged" in str(error.value)
    assert path.read_bytes() == old_bytes
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_failed_pt_write_keeps_old_file(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = train(TorchMLP, blobs)
    path = model.save(tmp_path / "model.pt")
    old_bytes = path.read_bytes()

    def failing_save(obj: object, file: object, *args: object, **kwargs: object) -> None:
        file.write(b"half a zip")  # type: ignore[attr-defined]
        raise RuntimeError("writer crashed")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(RuntimeError, match="writer crashed"):
        model.save(path)

    assert path.read_bytes() == old_bytes
    assert temp_files(tmp_path) == []


# ----- resume ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_resume_matches_uninterrupted_run(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], engine: type[MLPEstimator], suffix: str
) -> None:
    X, y = blobs
    settings = {"dtype": "float64", "epochs": 4, "momentum": 0.9, "schedule": "cosine"}
    uninterrupted = train(engine, blobs, **settings)

    first_half = engine(**uninterrupted.get_config(), threads=1).fit(X, y, n_epochs=2)
    assert first_half.epoch_ == 2
    path = first_half.save(tmp_path / f"half{suffix}")
    resumed = engine.load(path, threads=1)
    resumed.warm_start = True
    resumed.fit(X, y)

    assert resumed.epoch_ == 4
    assert [record["epoch"] for record in resumed.history_] == [1, 2, 3, 4]
    assert [record["lr"] for record in resumed.history_] == pytest.approx(
        [record["lr"] for record in uninterrupted.history_], rel=1e-15
    )
    for layer, ((W1, b1), (W2, b2)) in enumerate(
        zip(uninterrupted.get_parameters(), resumed.get_parameters(), strict=True)
    ):
        np.testing.assert_allclose(W2, W1, rtol=1e-12, atol=1e-15, err_msg=f"W{layer}")
        np.testing.assert_allclose(b2, b1, rtol=1e-12, atol=1e-15, err_msg=f"b{layer}")
    np.testing.assert_allclose(
        resumed.batch_losses_, uninterrupted.batch_losses_[2:], rtol=1e-12
    )


def test_resume_without_momentum_buffers_differs(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    """Dropping the saved momentum changes the result, so the resume test can fail."""
    X, y = blobs
    settings = {"dtype": "float64", "epochs": 4, "momentum": 0.9, "schedule": "cosine"}
    uninterrupted = train(NumpyMLP, blobs, **settings)

    first_half = NumpyMLP(**uninterrupted.get_config()).fit(X, y, n_epochs=2)
    resumed = NumpyMLP.load(first_half.save(tmp_path / "half.npz"))
    resumed._set_momentum_buffers(None)
    resumed.warm_start = True
    resumed.fit(X, y)

    W_resumed = resumed.get_parameters()[0][0]
    W_uninterrupted = uninterrupted.get_parameters()[0][0]
    assert not np.allclose(W_resumed, W_uninterrupted, rtol=1e-12, atol=1e-15)


def zeroing_schedule(model: MLPEstimator) -> ZeroingSchedule:
    return model._optimizer.zeroing if isinstance(model, NumpyMLP) else model._zeroing


@pytest.mark.parametrize("engine", ENGINES)
def test_resume_zeroes_same_momentum(tmp_path: Path, engine: type[MLPEstimator]) -> None:
    """A resumed float32 run sets the same vanishing momentum values to 0 as an uninterrupted one."""
    # Feature 0 is active in 10 rows of 400, so with batch size 1 its weights' momentum
    # decays for long stretches and crosses the zeroing threshold again and again.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    X[10:, 0] = 0
    y = np.arange(400) % 3
    settings = {"hidden": [8], "epochs": 4, "batch_size": 1, "lr": 0.01, "seed": 0, "threads": 1}
    uninterrupted = engine(**settings).fit(X, y)

    first_half = engine(**settings).fit(X, y, n_epochs=2)
    suffix = ".npz" if engine is NumpyMLP else ".pt"
    resumed = engine.load(first_half.save(tmp_path / f"half{suffix}"), threads=1)
    resumed.warm_start = True
    resumed.fit(X, y)

    # The zeroing schedule restarts with each epoch, so both runs are at the same point
    # of it, and their buffers agree bit for bit.
    steps = zeroing_schedule(uninterrupted).steps_since_zeroing
    assert zeroing_schedule(resumed).steps_since_zeroing == steps
    (W_uninterrupted, _), _ = uninterrupted._get_momentum_buffers()
    (W_resumed, _), _ = resumed._get_momentum_buffers()
    np.testing.assert_array_equal(W_resumed, W_uninterrupted)


@pytest.mark.parametrize("engine", ENGINES)
def test_warm_start_applies_new_momentum(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], engine: type[MLPEstimator]
) -> None:
    """set_params between fits must reach the optimizer, as a model built with the new values has them."""
    X, y = blobs
    changed = {"momentum": 0.0, "weight_decay": 0.1}
    model = engine(**train(engine, blobs, dtype="float64", epochs=2).get_config())
    model.fit(X, y, n_epochs=1)
    path = model.save(tmp_path / "half.npz")

    model.set_params(warm_start=True, **changed)
    model.fit(X, y)
    rebuilt = engine.load(path, warm_start=True, **changed).fit(X, y)
    unchanged = engine.load(path, warm_start=True).fit(X, y)

    for (W, b), (W_rebuilt, b_rebuilt) in zip(model.get_parameters(), rebuilt.get_parameters(), strict=True):
        np.testing.assert_allclose(W, W_rebuilt, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b, b_rebuilt, rtol=0, atol=1e-12)
    # The new settings matter here, so the comparison above can fail.
    assert not np.allclose(model.get_parameters()[0][0], unchanged.get_parameters()[0][0], atol=1e-6)


def test_warm_start_uses_new_batch_size(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    first_epoch = NumpyMLP(hidden=[8], epochs=4, batch_size=50, threads=1).fit(X, y, n_epochs=1)
    path = first_epoch.save(tmp_path / "model.npz")
    model = NumpyMLP.load(path, batch_size=125)
    model.warm_start = True

    model.fit(X, y)

    # 250 rows in batches of 125, not of the 50 stored with the batch order.
    assert [len(losses) for losses in model.batch_losses_] == [2, 2, 2]


def test_warm_start_rejects_other_feature_count(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    model = NumpyMLP.load(train(NumpyMLP, blobs, epochs=4).save(tmp_path / "model.npz"))
    model.warm_start = True

    expected = "X has 3 features, but NumpyMLP is expecting 6 features as input"
    with pytest.raises(DataError, match=re.escape(expected)):
        model.fit(np.zeros((10, 3)), np.zeros(10, dtype=int))


@pytest.mark.parametrize("cls", ENGINES)
def test_config_keys_are_what_get_config_writes(cls: type[MLPEstimator]) -> None:
    from mlpbench.checkpoint import CONFIG_KEYS

    assert set(cls().get_config()) == CONFIG_KEYS


@pytest.mark.parametrize("cls", ENGINES)
def test_save_rejects_setting_loading_needs(
    tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray], cls: type[MLPEstimator]
) -> None:
    # set_params does not check values; a file saved with this one could not be loaded.
    model = train(cls, blobs).set_params(momentum=1.5)
    path = tmp_path / ("model" + (".pt" if cls is TorchMLP else ".npz"))

    with pytest.raises(CheckpointError, match=r"cannot save the model: .*momentum must be in \[0, 1\)"):
        model.save(path)

    assert not path.exists()


def test_load_override_judged_in_file_dtype(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    # lr 1e39 fits in float64, the file's dtype, though not in float32, the default.
    X, y = blobs
    model = NumpyMLP(hidden=[4], epochs=1, dtype="float64", lr=1e-3, seed=0).fit(X, y)
    path = model.save(tmp_path / "wide.npz")

    loaded = NumpyMLP.load(path, lr=1e39)

    assert loaded.lr == 1e39
