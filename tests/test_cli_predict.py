"""``mlpbench predict`` on images, IDX files and arrays, end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from cli_support import FASHION_NAMES, assert_one_line_error, damage_npy_header, run_cli, temp_files
from PIL import Image

from mlpbench import NumpyMLP
from mlpbench.checkpoint import save_checkpoint
from mlpbench.data import load_dataset, write_idx
from mlpbench.images import border_mean, image_to_row, load_image, read_grayscale


@pytest.fixture(scope="module")
def digits_test():
    data = load_dataset("digits", dtype="float64")
    return data.x_test[:5], data.y_test[:5]


def predicted_classes(output: str) -> list[str]:
    return [line.split(": ", 1)[1].split("  (")[0] for line in output.strip().splitlines()]


def test_npy_rows_match_api(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    x, _ = digits_test
    inputs = tmp_path / "rows.npy"
    np.save(inputs, x)
    expected = NumpyMLP.load(checkpoint).predict(x)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert result.status == 0, result.err
    assert predicted_classes(result.out) == [str(label) for label in expected]
    assert result.out.splitlines()[0].startswith(f"{inputs}[0]: ")
    assert "(top 3: " in result.out


def test_uint8_images_scaled_by_255(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    x, _ = digits_test
    pixels = np.round(x * 255).astype(np.uint8).reshape(-1, 8, 8)
    inputs = tmp_path / "images.npy"
    np.save(inputs, pixels)
    expected = NumpyMLP.load(checkpoint).predict(pixels.reshape(-1, 64) / 255.0)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert result.status == 0, result.err
    assert predicted_classes(result.out) == [str(label) for label in expected]


def test_binary_first_row_no_warning(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    # The first row serves as the test split inside the scaling, but it is no split.
    x, _ = digits_test
    pixels = np.round(x * 255).astype(np.uint8)
    pixels[0] = pixels[0] > 0
    inputs = tmp_path / "images.npy"
    np.save(inputs, pixels)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert result.status == 0, result.err
    assert result.err == ""


@pytest.mark.parametrize("key", ["x", "x_test", "images", "only"])
def test_npz_array_selection(capsys, checkpoint: Path, digits_test, tmp_path: Path, key: str):
    x, _ = digits_test
    inputs = tmp_path / "rows.npz"
    if key == "only":
        np.savez(inputs, anything=x)
    else:
        np.savez(inputs, **{key: x, "labels": np.arange(len(x))})

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert result.status == 0, result.err
    assert len(result.out.strip().splitlines()) == len(x)


def test_npz_without_known_key_rejected(capsys, checkpoint: Path, tmp_path: Path):
    inputs = tmp_path / "rows.npz"
    np.savez(inputs, a=np.zeros((1, 64)), b=np.zeros(1))

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", "contains arrays a, b", "x, x_test, images")


@pytest.mark.parametrize(
    ("rows", "fragments"),
    [
        (np.array([["a"] * 64]), ("values must be real numbers, got dtype <U1", "integer or float array")),
        (np.full((1, 64), -0.99), ("pixel values must be >= 0, found -0.99", "not standardized ones")),
        (
            np.array([[0.5, 3.0, *[0.25] * 62]]),
            ("the input values reach 3.0 (the first value above 1 is 3.0, input sample 0 at feature 1",),
        ),
        # Two typos among 64 whole-number pixels 0..16: the first fraction is the value to correct.
        (
            np.array([[5.0, 0.5, 16.0, 0.25, *[3.0] * 60]]),
            ("(the first value with a fraction is 0.5, input sample 0 at feature 1",),
        ),
        # Mostly fractions: the value to correct is the one above 1.
        (
            np.array([[0.5, 0.25, 3.0, *[0.1] * 61]]),
            ("(the first value above 1 is 3.0, input sample 0 at feature 2",),
        ),
    ],
    ids=["text", "standardized", "above-one", "two-typos", "mostly-fractions"],
)
def test_unusable_values_get_a_fix(capsys, checkpoint: Path, tmp_path: Path, rows, fragments):
    inputs = tmp_path / "rows.npy"
    np.save(inputs, rows)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", *fragments)


def test_npz_with_damaged_array_header_rejected(capsys, checkpoint: Path, tmp_path: Path):
    inputs = tmp_path / "rows.npz"
    np.savez(inputs, x=np.zeros((1, 64)))
    damage_npy_header(inputs, "x")

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    reason = "an array's header is damaged"
    assert_one_line_error(result, "predict", f"cannot read array 'x' of {inputs}: {reason}")
    fix = "; the file is damaged, so save the samples again with numpy.save or numpy.savez"
    assert result.err.rstrip().endswith(fix)


@pytest.mark.parametrize("name", ["notes.npz", "notes.npy"])
def test_text_file_named_numpy_rejected(capsys, checkpoint: Path, tmp_path: Path, name: str):
    inputs = tmp_path / name
    inputs.write_text("these are notes, not arrays\n")

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", "is neither a .npy array nor a .npz archive", "numpy.save")
    assert "pickle" not in result.err
    assert "cannot read" not in result.err


@pytest.mark.parametrize("shape", [(0, 64), (0, 8, 8)])
def test_empty_array_rejected(capsys, checkpoint: Path, tmp_path: Path, shape: tuple[int, ...]):
    inputs = tmp_path / "empty.npy"
    np.save(inputs, np.zeros(shape))

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", f"contains no samples (shape {shape})", "at least one row")


def test_csv_input_rejected(capsys, checkpoint: Path, tmp_path: Path):
    inputs = tmp_path / "rows.csv"
    inputs.write_text(",".join(["0"] * 64) + "\n")

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", "not text tables", "(n, 64) array with numpy.save")
    assert "cannot decode image" not in result.err


def test_idx_file_input(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    x, _ = digits_test
    inputs = tmp_path / "images-idx3-ubyte.gz"
    write_idx(inputs, np.round(x * 255).astype(np.uint8).reshape(-1, 8, 8), compress=True)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert result.status == 0, result.err
    assert len(result.out.strip().splitlines()) == len(x)


def test_png_dark_and_light_background_agree(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    x, _ = digits_test
    pixels = np.round(x[0] * 255).astype(np.uint8).reshape(8, 8)
    dark = tmp_path / "dark.png"
    light = tmp_path / "light.jpg"
    Image.fromarray(pixels).save(dark)
    Image.fromarray(255 - pixels).convert("RGB").save(light, quality=100)

    result = run_cli(capsys, "predict", "-q", checkpoint, dark, light)

    assert result.status == 0, result.err
    first, second = predicted_classes(result.out)
    assert first == second
    expected = NumpyMLP.load(checkpoint).predict(pixels.reshape(1, 64) / 255.0)
    assert first == str(expected[0])


def test_light_background_inverted():
    gray = np.ones((8, 8))
    gray[2:6, 3:5] = 0.0  # dark stroke on white paper

    row = image_to_row(gray, (8, 8), "paper")

    assert border_mean(gray) == 1.0
    assert row.reshape(8, 8)[0, 0] == 0.0
    assert row.reshape(8, 8)[3, 3] == 1.0


def test_resize_warns_and_keeps_aspect(capsys, checkpoint: Path, tmp_path: Path):
    wide = np.zeros((20, 40), dtype=np.uint8)
    wide[5:15, 15:25] = 255
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)

    row = load_image(path, (8, 8))
    result = run_cli(capsys, "predict", checkpoint, path)

    assert row.shape == (64,)
    assert row.min() >= 0.0
    assert row.max() <= 1.0
    image = row.reshape(8, 8)
    # Padding to a square keeps the square blob square, so it spans rows as it spans columns
    # (Lanczos rings a little, hence the tolerance).
    np.testing.assert_allclose(image.sum(axis=0), image.sum(axis=1), atol=0.05)
    assert image[:2].max() < 0.05
    assert image[3:5, 3:5].min() > 0.5
    assert result.status == 0, result.err
    assert f"resizing {path} from 40x20 to 8x8 pixels" in result.err


def test_16_bit_png_keeps_range(tmp_path: Path):
    levels = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(levels).save(path)

    gray = read_grayscale(path)

    np.testing.assert_allclose(gray, levels / 65535.0, atol=1e-12)


def test_transparent_png_on_white(tmp_path: Path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[2:6, 3:5] = (0, 0, 0, 255)  # opaque black stroke, the rest transparent
    path = tmp_path / "stroke.png"
    Image.fromarray(rgba).save(path)

    image = load_image(path, (8, 8)).reshape(8, 8)

    assert image[0, 0] == 0.0
    assert image[3, 3] == 1.0


def test_missing_input_exits_2(capsys, checkpoint: Path, tmp_path: Path):
    result = run_cli(capsys, "predict", "-q", checkpoint, tmp_path / "absent.png")

    assert_one_line_error(result, "predict", f"input {tmp_path / 'absent.png'} not found", status=2)


def test_light_strokes_on_transparent_stay_visible(tmp_path: Path):
    # On white, as dark strokes are shown, white strokes would vanish.
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[2:6, 3:5] = (255, 255, 255, 255)
    path = tmp_path / "light-stroke.png"
    Image.fromarray(rgba).save(path)

    image = load_image(path, (8, 8)).reshape(8, 8)

    assert image[0, 0] == 0.0
    assert image[3, 3] == 1.0


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_warned(caplog, level: int):
    with caplog.at_level("WARNING", logger="mlpbench"):
        image_to_row(np.full((8, 8), level / 255.0), (8, 8), "blank.png")

    assert "blank.png is nearly blank (gray levels" in caplog.text


def _stroke(background: float) -> np.ndarray:
    """Return an 8x8 image with a vertical stroke of the opposite level on ``background``."""
    gray = np.full((8, 8), background)
    gray[2:6, 3:5] = 1.0 - background
    return gray


def test_inversion_reported_without_verbose(caplog):
    with caplog.at_level("INFO", logger="mlpbench"):
        image_to_row(_stroke(1.0), (8, 8), "dark-on-light.png")

    assert "dark-on-light.png has a light background; inverting it" in caplog.text
    assert "nearly blank" not in caplog.text


def test_drawing_not_warned_as_blank(caplog):
    with caplog.at_level("WARNING", logger="mlpbench"):
        image_to_row(_stroke(0.0), (8, 8), "digit.png")

    assert caplog.text == ""


def test_csv_output(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    x, _ = digits_test
    inputs = tmp_path / "rows.npy"
    np.save(inputs, x)
    out = tmp_path / "predictions.csv"
    probs = NumpyMLP.load(checkpoint).predict_proba(x)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs, "--out", out)

    assert result.status == 0, result.err
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(x)
    assert rows[0]["input"] == f"{inputs}[0]"
    assert int(rows[0]["predicted_class"]) == int(np.argmax(probs[0]))
    assert float(rows[0]["top1_probability"]) == pytest.approx(probs[0].max(), rel=1e-5)
    assert float(rows[0]["top1_probability"]) >= float(rows[0]["top2_probability"])
    assert "top3_name" in rows[0]
    assert temp_files(tmp_path) == []


def test_raw_digits_divided_by_16(capsys, checkpoint: Path, tmp_path: Path):
    # scikit-learn's load_digits().data contains 0..16, which training divided by 16, not 255.
    from sklearn.datasets import load_digits

    raw = load_digits().data[:20]
    inputs = tmp_path / "raw-digits.npy"
    np.save(inputs, raw)
    expected = NumpyMLP.load(checkpoint).predict(raw / 16)

    result = run_cli(capsys, "predict", checkpoint, inputs)

    assert result.status == 0, result.err
    assert predicted_classes(result.out) == [str(label) for label in expected]
    assert f"{inputs}: values 0..16, divided by 16 as in the model's training" in result.err
    assert "divided by 255" not in result.err


def test_raw_digits_as_uint8_divided_by_16(capsys, checkpoint: Path, tmp_path: Path):
    from sklearn.datasets import load_digits

    raw = load_digits().data[:20]
    inputs = tmp_path / "raw-digits-uint8.npy"
    np.save(inputs, raw.astype(np.uint8))

    result = run_cli(capsys, "predict", checkpoint, inputs)

    assert result.status == 0, result.err
    expected = NumpyMLP.load(checkpoint).predict(raw / 16)
    assert predicted_classes(result.out) == [str(label) for label in expected]


def test_low_pixels_of_other_models_divided_by_255(capsys, tmp_path: Path):
    # A model not trained on the digits gets the rule of its training data: whole numbers / 255.
    data = load_dataset("digits")
    path = tmp_path / "pixels.npz"
    save_checkpoint(
        NumpyMLP(hidden=[8], epochs=1).fit(data.x_train, data.y_train), path, dataset={"name": "my-pixels"}
    )
    inputs = tmp_path / "dark.npy"
    np.save(inputs, np.full((1, 64), 12, dtype=np.uint8))

    result = run_cli(capsys, "predict", path, inputs)

    assert result.status == 0, result.err
    assert "divided by 255 as 8-bit pixels" in result.err
    # predict cannot know how training scaled, so it does not tell the user to rescale.
    assert "training divided whole numbers by 255 too, except for the digits" in result.err
    assert "before loading them" not in result.err


def test_rows_npz_not_taken_for_model(capsys, tmp_path: Path):
    image = tmp_path / "digit.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(image)
    rows = tmp_path / "rows.npz"
    np.savez(rows, x=np.zeros((2, 64)))

    result = run_cli(capsys, "predict", "-q", image, rows)

    assert "the model comes first" not in result.err
    assert_one_line_error(result, "predict", f"cannot read {image}: expected a .npz or .pt file")


def test_one_prediction_named_in_singular(capsys, checkpoint: Path, digits_test, tmp_path: Path):
    x, _ = digits_test
    inputs = tmp_path / "row.npy"
    np.save(inputs, x[:1])

    result = run_cli(capsys, "predict", checkpoint, inputs, "--out", tmp_path / "one.csv")

    assert result.status == 0, result.err
    assert f"wrote 1 prediction to {tmp_path / 'one.csv'}" in result.err


def test_swapped_arguments_named(capsys, checkpoint: Path, tmp_path: Path):
    image = tmp_path / "digit.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(image)

    result = run_cli(capsys, "predict", "-q", image, checkpoint)

    assert result.status == 2
    assert f"{image} is not a .npz or .pt model file; the model comes first" in result.err
    assert f"mlpbench predict {checkpoint} {image}" in result.err


def test_class_names_shown(capsys, digits_test, tmp_path: Path):
    data = load_dataset("digits")
    model = NumpyMLP(hidden=[8], epochs=1, seed=0).fit(data.x_train, data.y_train)
    path = tmp_path / "fashion-like.pt"
    save_checkpoint(
        model, path, dataset={"name": "fashion-mnist", "class_names": FASHION_NAMES, "image_shape": [8, 8]}
    )
    inputs = tmp_path / "rows.npy"
    np.save(inputs, digits_test[0])
    expected = model.predict(digits_test[0])

    result = run_cli(capsys, "predict", "-q", path, inputs)

    assert result.status == 0, result.err
    assert predicted_classes(result.out) == [FASHION_NAMES[label] for label in expected]


def test_top_limited_by_class_count(capsys, tmp_path: Path):
    rng = np.random.default_rng(0)
    model = NumpyMLP(hidden=[], epochs=1).fit(rng.random((20, 4)), np.arange(20) % 2)
    path = tmp_path / "two.npz"
    model.save(path)
    inputs = tmp_path / "rows.npy"
    np.save(inputs, rng.random((1, 4)))

    result = run_cli(capsys, "predict", "-q", path, inputs)

    assert result.status == 0, result.err
    assert "(top 2: " in result.out


def test_image_needs_square_input(capsys, tmp_path: Path):
    rng = np.random.default_rng(0)
    model = NumpyMLP(hidden=[], epochs=1).fit(rng.random((20, 10)), np.arange(20) % 2)
    path = tmp_path / "ten.npz"
    model.save(path)
    image = tmp_path / "digit.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(image)

    result = run_cli(capsys, "predict", "-q", path, image)

    assert_one_line_error(result, "predict", "takes 10 features, which is not a square image")


def test_fashion_names_end_to_end(capsys, data_env: Path, tmp_path: Path):
    from mlpbench.data import list_datasets

    fashion = next(row for row in list_datasets() if row["name"] == "fashion-mnist")
    if not fashion["available"]:
        pytest.skip("Fashion-MNIST is not installed locally (apt install dataset-fashion-mnist)")
    path = tmp_path / "fashion.npz"
    result = run_cli(
        capsys,
        "train",
        "-q",
        "--dataset",
        "fashion-mnist",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "1000",
        "--threads",
        "1",
        "--save",
        path,
    )
    assert result.status == 0, result.err
    data = load_dataset("fashion-mnist")
    inputs = tmp_path / "images-idx3-ubyte"
    write_idx(inputs, np.round(data.x_test[:4] * 255).astype(np.uint8).reshape(-1, 28, 28))
    expected = NumpyMLP.load(path).predict(data.x_test[:4])

    result = run_cli(capsys, "predict", "-q", path, inputs)

    assert result.status == 0, result.err
    assert predicted_classes(result.out) == [FASHION_NAMES[label] for label in expected]
