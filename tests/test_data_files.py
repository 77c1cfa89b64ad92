"""Loading data sets from a path: IDX folders, .npz archives and CSV pairs."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_support import damage_npy_header

from mlpbench import NumpyMLP
from mlpbench.data import load_dataset, write_idx
from mlpbench.errors import CheckpointError, DataError


def _scaled(array: np.ndarray) -> np.ndarray:
    return array.reshape(array.shape[0], -1).astype(np.float32) / np.float32(255)


# --- IDX folders -------------------------------------------------------------------------


def test_path_idx_folder(tiny_idx, tmp_path) -> None:
    folder = tiny_idx.write(tmp_path / "mine", compress=False)

    dataset = load_dataset(str(folder))

    assert dataset.name == str(folder)
    assert dataset.source == f"{folder} (IDX, uncompressed)"
    assert dataset.n_classes == 3
    assert dataset.image_shape == (4, 4)
    assert dataset.class_names is None
    np.testing.assert_array_equal(dataset.x_train, _scaled(tiny_idx.arrays["train_images"]))
    assert dataset.y_train.dtype == np.int64


@pytest.mark.parametrize(
    ("name", "ndim", "role", "allowed"),
    [
        ("train-labels-idx1-ubyte", 3, "train labels", "1 to 2"),
        ("t10k-images-idx3-ubyte", 1, "test images", "at least 2"),
    ],
)
def test_path_idx_header_dimension_count_named(tiny_idx, tmp_path, name, ndim, role, allowed) -> None:
    # A damaged dimension count, which for labels makes up sizes that would need
    # exabytes: the message names the count, not a byte total.
    folder = tiny_idx.write(tmp_path / "mine", compress=False)
    path = folder / name
    data = bytearray(path.read_bytes())
    data[3] = ndim
    path.write_bytes(bytes(data))

    with pytest.raises(DataError) as caught:
        load_dataset(str(folder))

    message = str(caught.value)
    assert f"{path}: its IDX header gives {ndim} dimension(s), but a {role} file has {allowed}" in message
    assert "needs" not in message


def test_path_idx_images_of_five_dimensions(tiny_idx, tmp_path) -> None:
    folder = tiny_idx.write(tmp_path / "mine", compress=False)
    images = tiny_idx.arrays["train_images"]
    write_idx(folder / "train-images-idx3-ubyte", images.reshape(-1, 2, 2, 2, 2))
    write_idx(folder / "t10k-images-idx3-ubyte", tiny_idx.arrays["test_images"].reshape(-1, 2, 2, 2, 2))

    dataset = load_dataset(str(folder))

    np.testing.assert_array_equal(dataset.x_train, _scaled(images))


def test_path_idx_labels_of_shape_n_by_1(tiny_idx, tmp_path) -> None:
    folder = tiny_idx.write(tmp_path / "mine", compress=False)
    labels = tiny_idx.arrays["train_labels"]
    write_idx(folder / "train-labels-idx1-ubyte", labels.reshape(-1, 1))

    dataset = load_dataset(str(folder))

    np.testing.assert_array_equal(dataset.y_train, labels)


def test_path_idx_torchvision_layout(tiny_idx, tmp_path) -> None:
    raw = tiny_idx.write(tmp_path / "root" / "FashionMNIST" / "raw")

    dataset = load_dataset(tmp_path / "root")

    assert dataset.source == f"{raw} (IDX, gzip)"


def test_path_idx_raw_subfolder(tiny_idx, tmp_path) -> None:
    raw = tiny_idx.write(tmp_path / "root" / "raw")

    dataset = load_dataset(str(tmp_path / "root"))

    assert dataset.source.startswith(f"{raw} ")


def test_path_idx_two_torchvision_sets_rejected(tiny_idx, tmp_path) -> None:
    tiny_idx.write(tmp_path / "root" / "MNIST" / "raw")
    tiny_idx.write(tmp_path / "root" / "FashionMNIST" / "raw")

    with pytest.raises(DataError, match="contains several IDX data sets"):
        load_dataset(str(tmp_path / "root"))


def test_path_idx_count_mismatch(tiny_idx, tmp_path) -> None:
    arrays = {**tiny_idx.arrays, "test_labels": np.array([0, 1], dtype=np.uint8)}
    folder = type(tiny_idx)(arrays).write(tmp_path / "mine")

    with pytest.raises(DataError) as caught:
        load_dataset(str(folder))

    message = str(caught.value)
    assert f"{folder / 't10k-images-idx3-ubyte.gz'} contains 3 samples" in message
    assert f"{folder / 't10k-labels-idx1-ubyte.gz'} contains 2 labels" in message


def test_path_idx_second_copy_is_named(tiny_idx, tmp_path, caplog) -> None:
    # A truncated uncompressed copy beside the .gz is not read, and the log names it.
    folder = tiny_idx.write(tmp_path / "mine")
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 truncated")

    with caplog.at_level("INFO", logger="mlpbench"):
        data = load_dataset(str(folder))

    assert data.x_train.shape == (6, 16)
    used, ignored = "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"
    expected = f"{folder}: read {used} and ignored {ignored}, another copy of it"
    assert expected in caplog.messages


def test_path_idx_test_image_shape_mismatch(tiny_idx, tmp_path) -> None:
    # 2 x 8 test images hold as many pixels as the 4 x 4 training images, but not the same ones.
    test_images = tiny_idx.arrays["test_images"].reshape(3, 2, 8)
    folder = type(tiny_idx)({**tiny_idx.arrays, "test_images": test_images}).write(tmp_path / "mine")

    with pytest.raises(DataError) as caught:
        load_dataset(str(folder))

    message = str(caught.value)
    assert f"{folder / 't10k-images-idx3-ubyte.gz'}: each test sample has shape 2 x 8" in message
    assert "each training sample" in message
    assert "has shape 4 x 4; both must hold samples of one shape" in message


@pytest.mark.parametrize(
    ("test_shape", "accepted"),
    [((2, 8, 1), False), ((4, 4, 1), True), ((1, 4, 4), True), ((16,), True), ((16, 1), True)],
    ids=["other-shape-with-channel", "channel-axis", "leading-channel", "flat", "flat-with-channel"],
)
def test_npz_test_image_shapes(tmp_path, test_shape, accepted) -> None:
    path = tmp_path / "images.npz"
    x_test = np.zeros((1, *test_shape), dtype=np.uint8)
    np.savez(path, x_train=np.zeros((2, 4, 4), dtype=np.uint8), y_train=[0, 1], x_test=x_test, y_test=[0])

    if accepted:
        assert load_dataset(str(path)).x_test.shape == (1, 16)
    else:
        with pytest.raises(DataError, match="each test sample has shape 2 x 8 x 1"):
            load_dataset(str(path))


def test_npz_flat_test_rows_beside_images_accepted(tmp_path) -> None:
    path = tmp_path / "mixed.npz"
    x_train = np.zeros((2, 2, 2), dtype=np.uint8)
    np.savez(path, x_train=x_train, y_train=[0, 1], x_test=np.zeros((1, 4), dtype=np.uint8), y_test=[0])

    data = load_dataset(str(path))

    assert data.x_test.shape == (1, 4)


def test_path_empty_folder_rejected(tmp_path) -> None:
    with pytest.raises(DataError, match="no data set found.*train-images-idx3-ubyte.*\\*train\\*.csv"):
        load_dataset(str(tmp_path))


@pytest.mark.parametrize("subfolder", ["", "raw", "FashionMNIST/raw"])
def test_path_incomplete_idx_folder_names_missing(tiny_idx, tmp_path, subfolder: str) -> None:
    folder = tiny_idx.write(tmp_path / "mine" / subfolder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()

    with pytest.raises(DataError) as caught:
        load_dataset(str(tmp_path / "mine"))

    message = str(caught.value)
    assert f"{folder}: incomplete IDX data set" in message
    assert "it lacks t10k-labels-idx1-ubyte (test labels);" in message
    assert "train-images" not in message


def test_path_unsupported_file_rejected(tmp_path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("1,2,3\n")
    with pytest.raises(DataError, match=r"unsupported file type \.txt"):
        load_dataset(str(path))


# --- .npz --------------------------------------------------------------------------------


def test_npz_keras_layout(tmp_path) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "y_train": np.array([0, 1, 2, 3, 4], dtype=np.uint8),
        "x_test": rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8),
        "y_test": np.array([4, 0], dtype=np.uint8),
    }
    arrays["x_train"][0, 0, 0] = 255
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)

    dataset = load_dataset(str(path))

    assert dataset.x_train.shape == (5, 784)
    assert dataset.x_train.dtype == np.float32
    np.testing.assert_array_equal(dataset.x_train, _scaled(arrays["x_train"]))
    np.testing.assert_array_equal(dataset.x_test, _scaled(arrays["x_test"]))
    assert dataset.n_classes == 5
    assert dataset.image_shape == (28, 28)
    assert dataset.source == f"{path} (npz)"


def test_npz_float_data_kept(tmp_path) -> None:
    x_train = np.linspace(0, 1, 4 * 20).reshape(4, 20)
    path = tmp_path / "floats.npz"
    np.savez(path, x_train=x_train, y_train=[[0], [1], [1], [0]], x_test=x_train[:1], y_test=[1])

    dataset = load_dataset(path, dtype="float64")

    assert dataset.x_train.dtype == np.float64
    np.testing.assert_array_equal(dataset.x_train, x_train)
    np.testing.assert_array_equal(dataset.y_train, [0, 1, 1, 0])
    assert dataset.image_shape is None


def test_npz_square_feature_count_gives_shape(tmp_path) -> None:
    path = tmp_path / "flat.npz"
    np.savez(path, x_train=np.zeros((2, 16)), y_train=[0, 1], x_test=np.zeros((1, 16)), y_test=[0])

    assert load_dataset(path).image_shape == (4, 4)


def test_npz_integer_pixels_above_1_divided_by_255(tmp_path) -> None:
    path = tmp_path / "small-ints.npz"
    x_train = np.array([[0, 1, 2]], dtype=np.uint8)
    np.savez(path, x_train=x_train, y_train=[0], x_test=np.array([[1, 1, 1]], dtype=np.uint8), y_test=[0])

    dataset = load_dataset(path)

    np.testing.assert_array_equal(dataset.x_train, _scaled(x_train))
    np.testing.assert_array_equal(dataset.x_test, np.full((1, 3), 1 / 255, dtype=np.float32))


def test_npz_low_whole_numbers_warn_before_scaling(tmp_path, caplog) -> None:
    path = tmp_path / "four-bit.npz"
    x_train = np.array([[0, 7, 16]], dtype=np.int64)
    np.savez(path, x_train=x_train, y_train=[0], x_test=np.array([[1, 2, 3]]), y_test=[0])

    with caplog.at_level("WARNING", logger="mlpbench"):
        dataset = load_dataset(path)

    np.testing.assert_array_equal(dataset.x_train, _scaled(x_train))
    assert len(caplog.records) == 1
    assert "the whole-number values reach only 16" in caplog.text
    assert "features end up in [0, 0.063]" in caplog.text


@pytest.mark.parametrize("binary_split", ["x_train", "x_test"])
def test_npz_binary_split_beside_bytes_warns(tmp_path, caplog, binary_split) -> None:
    path = tmp_path / "mixed.npz"
    arrays = {"x_train": np.array([[0, 128, 255]]), "x_test": np.array([[0, 200, 255]])}
    arrays[binary_split] = np.array([[0, 1, 1]])
    np.savez(path, y_train=[0], y_test=[0], **arrays)

    with caplog.at_level("WARNING", logger="mlpbench"):
        load_dataset(path)

    name, other = ("training", "test") if binary_split == "x_train" else ("test", "training")
    assert len(caplog.records) == 1
    assert f"the {name} values are all 0 or 1, but the {other} values reach 255" in caplog.text


def test_npz_full_byte_range_scales_silently(tmp_path, caplog) -> None:
    path = tmp_path / "eight-bit.npz"
    x_train = np.array([[0, 128, 255]], dtype=np.uint8)
    np.savez(path, x_train=x_train, y_train=[0], x_test=np.array([[1, 2, 3]], dtype=np.uint8), y_test=[0])

    with caplog.at_level("WARNING", logger="mlpbench"):
        load_dataset(path)

    assert caplog.records == []


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"x_train": np.zeros((2, 4)), "y_train": [0, 1]}, "is missing arrays x_test, y_test"),
        (
            {"x_train": np.full((2, 4), 1.5), "y_train": [0, 1], "x_test": np.zeros((1, 4)), "y_test": [0]},
            "fractional pixel values must lie in [0, 1], but the training values reach 1.5",
        ),
        (
            {
                "x_train": np.array([[0.0, 0.5]]),
                "y_train": [0],
                "x_test": np.array([[0, 240]], dtype=np.uint8),
                "y_test": [0],
            },
            "training values are fractional, in [0, 0.5], but the test values are whole numbers up to 240",
        ),
        (
            {"x_train": np.zeros((2, 4)), "y_train": [0, -1], "x_test": np.zeros((1, 4)), "y_test": [0]},
            "label -1 at index 1 is negative",
        ),
        (
            {"x_train": np.zeros((2, 4)), "y_train": [0, 0.5], "x_test": np.zeros((1, 4)), "y_test": [0]},
            "label 0.5 at index 1 is not a whole number",
        ),
        (
            {"x_train": np.zeros((2, 4)), "y_train": [0, 1], "x_test": np.zeros((1, 3)), "y_test": [0]},
            "training samples have 4 features, test samples have 3",
        ),
        (
            {"x_train": np.zeros((2, 4)), "y_train": [0, 1, 1], "x_test": np.zeros((1, 4)), "y_test": [0]},
            "contains 2 samples but",
        ),
        (
            {
                "x_train": np.array([[0, 300]], dtype=np.int16),
                "y_train": [0],
                "x_test": np.zeros((1, 2), dtype=np.int16),
                "y_test": [0],
            },
            "integer pixel values must lie in 0..255, found 300",
        ),
        (
            {"x_train": np.zeros((2, 4)), "y_train": [0, 10**12], "x_test": np.zeros((1, 4)), "y_test": [0]},
            "label 1000000000000 at index 1 would make 1000000000001 classes",
        ),
    ],
    ids=[
        "missing-keys",
        "float-above-1",
        "splits-on-two-scales",
        "negative-label",
        "fractional-label",
        "feature-count",
        "label-count",
        "above-255",
        "huge-label",
    ],
)
def test_npz_invalid_content_rejected(tmp_path, arrays, expected) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as caught:
        load_dataset(str(path))
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)
    assert "cannot read" not in str(caught.value)


@pytest.mark.parametrize(("largest", "accepted"), [(999, True), (1000, False)])
def test_npz_class_count_limit(tmp_path, largest, accepted) -> None:
    # Three rows may name up to 1,000 classes. Ten per row counts only for larger sets.
    path = tmp_path / "labels.npz"
    np.savez(path, x_train=np.zeros((2, 4)), y_train=[0, largest], x_test=np.zeros((1, 4)), y_test=[0])

    if accepted:
        assert load_dataset(str(path)).n_classes == 1000
        return
    with pytest.raises(DataError) as caught:
        load_dataset(str(path))
    message = str(caught.value)
    assert "label 1000 at index 1 would make 1001 classes" in message
    assert "at most 1,000 classes are accepted for this many samples" in message
    assert "number the classes 0..K-1" in message


@pytest.mark.parametrize(
    ("label", "shown"),
    [(np.uint64(2**64 - 1), "18446744073709551615"), (np.float64(1e19), "10000000000000000000")],
    ids=["uint64", "float"],
)
def test_npz_label_beyond_int64_named(tmp_path, label, shown: str) -> None:
    # A cast to int64 first would wrap such labels around, and they were reported as negative.
    path = tmp_path / "labels.npz"
    y_train = np.array([0, label], dtype=np.asarray(label).dtype)
    np.savez(path, x_train=np.zeros((2, 4)), y_train=y_train, x_test=np.zeros((1, 4)), y_test=[0])

    with pytest.raises(DataError) as caught:
        load_dataset(str(path))

    assert f"label {shown} at index 1 would make" in str(caught.value)
    assert "negative" not in str(caught.value)


def test_pixel_error_names_value_above_one() -> None:
    # Two fractions are typos only among many whole numbers; here 3.0 is out of range.
    from mlpbench.data.dataset import scale_pixels

    row = np.array([[0.5, 0.25, 3.0]])
    with pytest.raises(DataError, match="the first value above 1 is 3.0, input sample 0 at feature 2"):
        scale_pixels(row, row[:1], np.dtype(np.float64), "x", compare_splits=False)


@pytest.mark.parametrize("dtype", [np.uint64, np.float64])
def test_check_labels_rejects_beyond_int64(dtype) -> None:
    from mlpbench.data.dataset import check_labels

    labels = np.array([0, 2**63], dtype=dtype)
    with pytest.raises(DataError, match="label 9223372036854775808 at index 1 is beyond the int64 range"):
        check_labels(labels, None, "y")


def test_text_file_named_npz_rejected(tmp_path) -> None:
    path = tmp_path / "notes.npz"
    path.write_text("not an archive\n", encoding="utf-8")

    with pytest.raises(DataError, match="is not a NumPy .npz archive") as caught:
        load_dataset(str(path))
    assert str(caught.value).startswith(f"{path} is not a NumPy .npz archive")
    assert "allow_pickle" not in str(caught.value)
    assert "numpy.savez" in str(caught.value)


def test_npz_object_array_not_unpickled(tmp_path) -> None:
    path = tmp_path / "pickled.npz"
    objects = np.array([{"a": 1}, None], dtype=object)
    np.savez(path, x_train=objects, y_train=[0, 1], x_test=np.zeros((1, 2)), y_test=[0])
    expected = "an array holds Python objects, which mlpbench does not load"
    with pytest.raises(DataError, match=expected) as caught:
        load_dataset(str(path))
    assert str(caught.value).endswith("save numeric arrays, such as x.astype(np.float32) and y.astype(int)")


def test_npz_single_array_rejected(tmp_path) -> None:
    path = tmp_path / "single.npz"
    with path.open("wb") as handle:
        np.save(handle, np.zeros((2, 3)))
    with pytest.raises(DataError, match="contains a single array; expected a .npz archive"):
        load_dataset(str(path))


def test_npz_text_labels_rejected(tmp_path) -> None:
    path = tmp_path / "text-labels.npz"
    np.savez(path, x_train=np.zeros((2, 4)), y_train=["a", "b"], x_test=np.zeros((1, 4)), y_test=[0])
    with pytest.raises(DataError, match=r"y_train\]: labels must be whole numbers, got dtype <U1"):
        load_dataset(str(path))


@pytest.mark.parametrize(
    ("y_train", "expected"),
    [
        (
            ["shirt", "boot", "bag"],
            ["store them as integers 0..K-1", "sklearn.preprocessing.LabelEncoder for class names"],
        ),
        (
            np.eye(3),
            ["labels must be a 1-D array, got shape (3, 3)", "for one-hot rows, store the class indices"],
        ),
    ],
    ids=["text", "one-hot"],
)
def test_npz_label_layout_gets_fix(tmp_path, y_train, expected: list[str]) -> None:
    path = tmp_path / "labels.npz"
    np.savez(path, x_train=np.zeros((3, 4)), y_train=y_train, x_test=np.zeros((1, 4)), y_test=[0])
    with pytest.raises(DataError) as caught:
        load_dataset(str(path))
    for fragment in expected:
        assert fragment in str(caught.value)


def test_npz_not_an_archive_rejected(tmp_path) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(DataError, match="cannot read .*broken.npz as a .npz archive"):
        load_dataset(str(path))


def test_npz_truncated_archive_gets_fix(tmp_path) -> None:
    whole = tmp_path / "whole.npz"
    arrays = {"x_train": np.zeros((100, 4)), "y_train": np.zeros(100, int), "x_test": np.zeros((3, 4))}
    np.savez(whole, **arrays, y_test=[0] * 3)
    path = tmp_path / "cut.npz"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    with pytest.raises(DataError) as caught:
        load_dataset(str(path))

    message = str(caught.value)
    assert message.startswith(f"cannot read {path} as a .npz archive: ")
    assert message.endswith(
        "the file is damaged or incomplete; copy it again, or save it again with numpy.savez"
    )


def test_npz_boolean_labels_are_classes_0_and_1(tmp_path) -> None:
    path = tmp_path / "bool.npz"
    y_train = np.array([False, True] * 10)
    np.savez(path, x_train=np.zeros((20, 4)), y_train=y_train, x_test=np.zeros((4, 4)), y_test=y_train[:4])

    data = load_dataset(str(path))

    assert data.n_classes == 2
    assert data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.y_train, y_train.astype(int))


def _load_samples(path: Path) -> object:
    from mlpbench.cli.inputs import _load_array

    return _load_array(path)


@pytest.mark.parametrize(
    "load", [load_dataset, NumpyMLP.load, _load_samples], ids=["data-set", "checkpoint", "predict-input"]
)
def test_truncated_archive_file_is_closed(tmp_path, load) -> None:
    # Given a path, np.load leaves the file it opened open when the archive is damaged.
    whole = tmp_path / "whole.npz"
    arrays = {"x_train": np.zeros((100, 4)), "y_train": np.zeros(100, int), "x_test": np.zeros((3, 4))}
    np.savez(whole, **arrays, y_test=[0] * 3)
    path = tmp_path / "cut.npz"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises((DataError, CheckpointError)):
            load(path)
        gc.collect()

    assert [str(warning.message) for warning in caught if warning.category is ResourceWarning] == []


def test_npz_damaged_array_header_rejected(tmp_path) -> None:
    path = tmp_path / "damaged.npz"
    np.savez(path, x_train=np.zeros((2, 4)), y_train=[0, 1], x_test=np.zeros((1, 4)), y_test=[0])
    damage_npy_header(path, "x_train")
    expected = r"cannot read .*damaged.npz as a .npz archive: an array's header is damaged"
    with pytest.raises(DataError, match=expected):
        load_dataset(str(path))


def test_npz_damaged_index_named(tmp_path) -> None:
    # A damaged name in the archive's index reads as an array that is not there.
    path = tmp_path / "damaged.npz"
    np.savez(path, x_train=np.zeros((2, 4)), y_train=[0, 1], x_test=np.zeros((1, 4)), y_test=[0])
    content = bytearray(path.read_bytes())
    content[content.rfind(b"y_test.npy") + 1] = ord("\n")
    path.write_bytes(bytes(content))

    with pytest.raises(DataError) as caught:
        load_dataset(str(path))

    message = str(caught.value)
    assert message.startswith(f"cannot read {path} as a .npz archive: its index is damaged (an array name")
    assert "\n" not in message


# --- CSV ---------------------------------------------------------------------------------


def _write_csv(path: Path, rows: list[str], header: str | None = None) -> Path:
    lines = ([header] if header else []) + rows
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_pair_from_train_path(tmp_path) -> None:
    train = _write_csv(tmp_path / "mnist_train.csv", ["3,0,255,128,0", "1,1,2,3,4"], "label,1x1,1x2,2x1,2x2")
    _write_csv(tmp_path / "mnist_test.csv", ["0,255,0,0,0"], "label,1x1,1x2,2x1,2x2")

    dataset = load_dataset(str(train))

    np.testing.assert_array_equal(dataset.y_train, [3, 1])
    np.testing.assert_array_equal(dataset.y_test, [0])
    expected = np.array([[0, 255, 128, 0], [1, 2, 3, 4]], dtype=np.float32) / np.float32(255)
    np.testing.assert_array_equal(dataset.x_train, expected)
    assert dataset.n_classes == 4
    assert dataset.image_shape == (2, 2)
    assert dataset.source == f"{train} and {tmp_path / 'mnist_test.csv'} (CSV)"


def test_csv_pair_in_folder_without_header(tmp_path) -> None:
    _write_csv(tmp_path / "Digits-TRAIN.csv", ["0,0,1", "1,1,0"])
    _write_csv(tmp_path / "Digits-TEST.csv", ["1,1,1"])

    dataset = load_dataset(str(tmp_path))

    # Maximum 1: the integer pixels are kept, not divided by 255.
    np.testing.assert_array_equal(dataset.x_train, [[0, 1], [1, 0]])
    assert dataset.n_classes == 2


@pytest.mark.parametrize("header", ['"label","1x1","1x2","2x1","2x2"', None], ids=["header", "no header"])
def test_csv_quoted_fields_read(tmp_path, header) -> None:
    # Python's csv.QUOTE_ALL puts every field, numbers included, in double quotes.
    rows = ['"3","0","255","128","0"', '"1","1","2","3","4"']
    train = _write_csv(tmp_path / "q_train.csv", rows, header)
    _write_csv(tmp_path / "q_test.csv", ['"0","255","0","0","0"'], header)

    dataset = load_dataset(str(train))

    np.testing.assert_array_equal(dataset.y_train, [3, 1])
    expected = np.array([[0, 255, 128, 0], [1, 2, 3, 4]], dtype=np.float32) / np.float32(255)
    np.testing.assert_array_equal(dataset.x_train, expected)
    np.testing.assert_array_equal(dataset.y_test, [0])


def test_csv_quoted_other_separator_named(tmp_path) -> None:
    train = _write_csv(tmp_path / "q_train.csv", ['"3";"0";"255"', '"1";"1";"2"'])
    _write_csv(tmp_path / "q_test.csv", ['"0";"255";"0"'])

    with pytest.raises(DataError, match="line 2 is separated by ';', not by commas"):
        load_dataset(str(train))


def test_csv_quoted_word_named(tmp_path) -> None:
    train = _write_csv(tmp_path / "q_train.csv", ['"3","0","255","128","0"', '"1","x","2","3","4"'])
    _write_csv(tmp_path / "q_test.csv", ['"0","255","0","0","0"'])

    with pytest.raises(DataError, match="""line 2, column 2: '"x"' is not a number"""):
        load_dataset(str(train))


def test_csv_test_name_keeps_case(tmp_path) -> None:
    train = _write_csv(tmp_path / "MNIST_Train.csv", ["0,0,1"])
    _write_csv(tmp_path / "MNIST_Test.csv", ["0,1,1"])

    assert load_dataset(str(train)).x_test.shape == (1, 2)


@pytest.mark.parametrize("as_folder", [False, True], ids=["file", "folder"])
@pytest.mark.parametrize(
    ("train_name", "test_name"),
    [
        ("constrained_train.csv", "constrained_test.csv"),
        ("fashion_train_latest.csv", "fashion_test_latest.csv"),
        ("mnist_train_contest.csv", "mnist_test_contest.csv"),
    ],
    ids=["train-inside-a-word", "test-inside-a-word", "test-inside-the-suffix"],
)
def test_csv_pairs_embedded_split_words(tmp_path, as_folder, train_name, test_name) -> None:
    # Only the last "train" names the split, and "latest" or "contest" name none.
    train = _write_csv(tmp_path / train_name, ["0,0,1", "1,1,0"])
    test = _write_csv(tmp_path / test_name, ["1,1,1"])

    dataset = load_dataset(str(tmp_path if as_folder else train))

    assert dataset.source == f"{train} and {test} (CSV)"


def _numbers(start: int, stop: int) -> str:
    return ",".join(str(number) for number in range(start, stop))


# pandas names unnamed columns 0, 1, 2, ... Each header has 12 columns: a label and 11 pixels.
NUMBERED_HEADERS = {
    "from-0": _numbers(0, 12),
    "from-1": _numbers(1, 13),
    "label-0": "label," + _numbers(0, 11),
    "label-1": "label," + _numbers(1, 12),
}
NARROW_HEADER = "label," + _numbers(0, 3)


@pytest.mark.parametrize("header", NUMBERED_HEADERS.values(), ids=NUMBERED_HEADERS.keys())
def test_csv_numbered_header_skipped(tmp_path, header) -> None:
    rows = [f"{label}," + _numbers(label, label + 11) for label in (3, 1)]
    train = _write_csv(tmp_path / "a_train.csv", rows, header)
    _write_csv(tmp_path / "a_test.csv", rows[:1], header)

    dataset = load_dataset(str(train))

    np.testing.assert_array_equal(dataset.y_train, [3, 1])
    assert dataset.x_test.shape == (1, 11)


def test_csv_narrow_numbered_header_skipped(tmp_path) -> None:
    train = _write_csv(tmp_path / "a_train.csv", ["2,0,1,2", "1,3,4,5"], NARROW_HEADER)
    _write_csv(tmp_path / "a_test.csv", ["0,6,7,8"], NARROW_HEADER)

    dataset = load_dataset(str(train))

    np.testing.assert_array_equal(dataset.y_train, [2, 1])


def test_csv_header_after_comments_skipped(tmp_path) -> None:
    header = "# exported by a notebook\n\nlabel,p1,p2"
    train = _write_csv(tmp_path / "a_train.csv", ["2,0,1", "1,3,4"], header)
    _write_csv(tmp_path / "a_test.csv", ["0,6,7"], header)

    dataset = load_dataset(str(train))

    np.testing.assert_array_equal(dataset.y_train, [2, 1])
    assert dataset.x_test.shape == (1, 2)


def test_csv_row_after_comments_is_data(tmp_path) -> None:
    train = _write_csv(tmp_path / "a_train.csv", ["# no header", "2,0,1", "-1,3,4"])
    _write_csv(tmp_path / "a_test.csv", ["0,6,7"])

    with pytest.raises(DataError) as caught:
        load_dataset(str(train))
    assert "label -1 on line 3 is negative" in str(caught.value)


def test_csv_short_counting_row_is_data(tmp_path) -> None:
    # Without a word in front, a short row that counts 0, 1, 2 is a sample.
    train = _write_csv(tmp_path / "a_train.csv", ["0,1,2", "1,3,4"])
    _write_csv(tmp_path / "a_test.csv", ["0,6,7"])

    assert load_dataset(str(train)).y_train.tolist() == [0, 1]


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_csv_other_separator_named(tmp_path, separator: str) -> None:
    rows = [separator.join(["label", "a", "b", "c"]), separator.join(["0", "1", "2", "3"])]
    train = _write_csv(tmp_path / "a_train.csv", rows)
    _write_csv(tmp_path / "a_test.csv", rows)

    with pytest.raises(DataError) as caught:
        load_dataset(str(train))

    assert f"line 2 is separated by {separator!r}, not by commas" in str(caught.value)
    assert "save the file with comma separators" in str(caught.value)


@pytest.mark.parametrize(
    ("first_row", "expected"),
    [
        ("0,1,,3", "line 1, column 3: '' is not a number"),
        ("dog,5,9,3", "line 1, column 1: 'dog' is not a number"),
    ],
    ids=["empty-field", "text-label"],
)
def test_csv_bad_first_row_not_header(tmp_path, first_row, expected) -> None:
    train = _write_csv(tmp_path / "a_train.csv", [first_row, "1,1,2,3"])
    _write_csv(tmp_path / "a_test.csv", ["0,1,2,3"])

    with pytest.raises(DataError) as caught:
        load_dataset(str(train))
    assert expected in str(caught.value)


def test_csv_stray_fraction_named(tmp_path) -> None:
    # Pixels 0..16 with one 0.5: the data become fractional, so the 16s are out of range.
    train = _write_csv(tmp_path / "set_train.csv", ["0,16,3", "1,0.5,16"], "label,p1,p2")
    _write_csv(tmp_path / "set_test.csv", ["0,1,2"], "label,p1,p2")

    with pytest.raises(DataError) as caught:
        load_dataset(str(train))

    message = str(caught.value)
    assert "fractional pixel values must lie in [0, 1], but the training values reach 16.0" in message
    assert "(the first value with a fraction is 0.5, training sample 1 at feature 0, counting" in message


def test_npz_names_first_value_above_one(tmp_path) -> None:
    # Mostly fractional data: the value to correct is the first above 1, not the first fraction.
    path = tmp_path / "scaled.npz"
    x_train = np.array([[0.25, 1.5, 3.0, 1.0], [0.5, 0.0, 16.0, 2.0]])
    np.savez(path, x_train=x_train, y_train=[0, 1], x_test=np.zeros((1, 4)), y_test=[0])

    with pytest.raises(DataError) as caught:
        load_dataset(str(path))

    assert "(the first value above 1 is 1.5, training sample 0 at feature 1, counting" in str(caught.value)


def test_csv_fractional_pixels_kept(tmp_path) -> None:
    train = _write_csv(tmp_path / "a_train.csv", ["0,0.25,1.0", "1,0.5,0"])
    _write_csv(tmp_path / "a_test.csv", ["1,0,0"])

    dataset = load_dataset(str(train))

    np.testing.assert_array_equal(dataset.x_train, np.array([[0.25, 1.0], [0.5, 0.0]], dtype=np.float32))


@pytest.mark.parametrize(
    ("train_rows", "test_rows", "expected"),
    [
        (["0,1,2,3", "1,1,2"], ["0,1,2,3"], "line 3 has 3 columns, the first data row has 4"),
        (["0,1,2", "1.5,1,2"], ["0,1,2"], "label 1.5 on line 3 is not a whole number"),
        (["0,1,2", "-1,1,2"], ["0,1,2"], "label -1 on line 3 is negative"),
        (
            ["0,1,2"],
            ["0,1,2", "99999999999,1,2"],
            "label 99999999999 on line 3 would make 100000000000 classes",
        ),
        (["0,1,2", "", "# copied", "-1,1,2"], ["0,1,2"], "label -1 on line 5 is negative"),
        (["0,1,x"], ["0,1,2"], "line 2, column 3: 'x' is not a number"),
        (["0,1,2 # first", "# copied", "1,1"], ["0,1,2"], "line 4 has 2 columns, the first data row has 3"),
        (["0,1,2,3"], ["0,1"], "training samples have 3 features, test samples have 1"),
        (["0,1,256"], ["0,1,2"], "integer pixel values must lie in 0..255, found 256"),
        (["0,1,-2"], ["0,1,2"], "pixel values must be >= 0, found -2"),
        (["0"], ["0"], "rows have 1 column(s)"),
        ([], ["0,1,2"], "no data rows"),
    ],
    ids=[
        "ragged-row",
        "fractional-label",
        "negative-label",
        "huge-test-label",
        "label-after-blank-line",
        "not-a-number",
        "ragged-row-after-comments",
        "pixel-count",
        "above-255",
        "negative-pixel",
        "label-only",
        "header-only",
    ],
)
def test_csv_invalid_content_rejected(tmp_path, train_rows, test_rows, expected) -> None:
    train = _write_csv(tmp_path / "set_train.csv", train_rows, "label,p1,p2")
    _write_csv(tmp_path / "set_test.csv", test_rows, "label,p1,p2")
    with pytest.raises(DataError) as caught:
        load_dataset(str(train))
    assert expected in str(caught.value)


def test_csv_test_without_labels_hinted(tmp_path) -> None:
    train = _write_csv(tmp_path / "kaggle_train.csv", ["0,1,2", "1,3,4"], "label,p1,p2")
    # The test file has pixels only, as Kaggle's test.csv does.
    _write_csv(tmp_path / "kaggle_test.csv", ["5,6"], "p1,p2")

    expected = "kaggle_test.csv has 2 columns and .*kaggle_train.csv has 3; the test file probably lacks"
    with pytest.raises(DataError, match=expected):
        load_dataset(str(train))


def test_npz_feature_mismatch_has_no_label_hint(tmp_path) -> None:
    path = tmp_path / "features.npz"
    np.savez(path, x_train=np.zeros((2, 4)), y_train=[0, 1], x_test=np.zeros((1, 3)), y_test=[0])

    with pytest.raises(DataError, match="test samples have 3$"):
        load_dataset(str(path))


def test_csv_without_train_in_name_rejected(tmp_path) -> None:
    path = _write_csv(tmp_path / "data.csv", ["0,1"])
    with pytest.raises(DataError, match="with 'train' in its name"):
        load_dataset(str(path))


def test_csv_missing_test_file_rejected(tmp_path) -> None:
    path = _write_csv(tmp_path / "x_train.csv", ["0,1"])
    with pytest.raises(DataError, match="matching test file .*x_test.csv was not found"):
        load_dataset(str(path))


def test_csv_folder_ambiguous_rejected(tmp_path) -> None:
    for name in ("a_train.csv", "b_train.csv", "a_test.csv"):
        _write_csv(tmp_path / name, ["0,1"])
    with pytest.raises(DataError, match="exactly one \\*train\\*.csv and one \\*test\\*.csv"):
        load_dataset(str(tmp_path))
