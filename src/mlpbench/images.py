"""Turn an image file (PNG, JPEG, or any format Pillow reads) into one model input row.

The MNIST family has light strokes on a dark background, scaled to [0, 1]. An image
is converted to grayscale, inverted when its background is light, padded to the
model's aspect ratio with background and resized to the model's image shape.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mlpbench.errors import DataError

logger = logging.getLogger("mlpbench")

# A border brighter than this (on the [0, 1] scale) counts as a light background.
LIGHT_BACKGROUND = 0.5

# An image whose gray levels span less than this (on the [0, 1] scale) is nearly blank.
FLAT_IMAGE_RANGE = 0.05


def read_grayscale(path: str | Path) -> np.ndarray:
    """Decode an image into float64 gray levels in [0, 1] of shape (height, width).

    EXIF rotation is applied. Transparent pixels take the background that contrasts
    with the drawing: white behind dark strokes, as most viewers show them, and black
    behind light ones, which would vanish on white.

    Raises
    ------
    DataError
        If Pillow cannot open or decode the file.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode == "I" or image.mode.startswith("I;16"):
                # 16-bit grayscale (Pillow opens 16-bit PNGs as I;16 or I); convert("L") would clip.
                return np.asarray(image, dtype=np.float64).clip(0, 65535) / 65535.0
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, _contrasting_background(rgba))
                image = Image.alpha_composite(background, rgba)
            gray = image.convert("L")
    except Image.DecompressionBombError as error:
        # Pillow rejects images of more than twice its MAX_IMAGE_PIXELS (179 million pixels by default).
        raise DataError(
            f"cannot read image {path}: it is too large to decode safely ({error}); shrink it to "
            "a few hundred pixels a side first"
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise DataError(
            f"cannot decode image {path}: {error}; expected a PNG, JPEG or other image file that Pillow reads"
        ) from error
    return np.asarray(gray, dtype=np.float64) / 255.0


def _contrasting_background(rgba: Any) -> tuple[int, int, int, int]:
    """Return opaque black for a drawing of light pixels, else opaque white.

    The drawing's lightness is the mean gray level of its pixels weighted by their opacity.
    """
    opacity = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    if opacity.sum() == 0:
        return (255, 255, 255, 255)
    # Pillow's conversion to gray leaves the alpha channel out.
    gray = np.asarray(rgba.convert("L"), dtype=np.float64) / 255.0
    light = float((gray * opacity).sum() / opacity.sum()) > LIGHT_BACKGROUND
    return (0, 0, 0, 255) if light else (255, 255, 255, 255)


def border_mean(gray: np.ndarray) -> float:
    """Return the mean of the outermost rows and columns of a (height, width) image."""
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(border.mean())


def image_to_row(gray: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    """Make a (height, width) gray image in [0, 1] look like a training sample of ``shape``.

    Inverts an image whose border mean is above ``LIGHT_BACKGROUND``, pads it to the
    aspect ratio of ``shape`` with background and resizes it (logging a warning).

    Returns
    -------
    numpy.ndarray
        float64 row of shape (shape[0] * shape[1],) in [0, 1].
    """
    from PIL import Image

    if float(np.ptp(gray)) < FLAT_IMAGE_RANGE:
        logger.warning(
            "%s is nearly blank (gray levels %.2f to %.2f), so its prediction means little; "
            "check that it contains the drawing",
            name,
            float(gray.min()),
            float(gray.max()),
        )
    if border_mean(gray) > LIGHT_BACKGROUND:
        logger.info("%s has a light background; inverting it to light strokes on dark", name)
        gray = 1.0 - gray

    height, width = gray.shape
    target_height, target_width = shape
    if (height, width) != (target_height, target_width):
        logger.warning(
            "resizing %s from %dx%d to %dx%d pixels (width x height), the model's input size",
            name,
            width,
            height,
            target_width,
            target_height,
        )
        gray = _pad_to_aspect(gray, target_height / target_width)
        resized = Image.fromarray(gray.astype(np.float32)).resize(
            (target_width, target_height), Image.Resampling.LANCZOS
        )
        # Lanczos overshoots a little near sharp edges.
        gray = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)
    return gray.reshape(-1)


def _pad_to_aspect(gray: np.ndarray, aspect: float) -> np.ndarray:
    """Pad with zeros (the dark background) on both sides so that height / width == aspect."""
    height, width = gray.shape
    if height > aspect * width:
        new_width = round(height / aspect)
        left = (new_width - width) // 2
        return np.pad(gray, ((0, 0), (left, new_width - width - left)))
    new_height = round(aspect * width)
    top = (new_height - height) // 2
    return np.pad(gray, ((top, new_height - height - top), (0, 0)))


def load_image(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read an image file as one input row for a model of image ``shape`` (height, width).

    Returns a float64 row of shape (height * width,) in [0, 1] with light strokes on
    a dark background. Raises DataError when the file cannot be decoded.
    """
    return image_to_row(read_grayscale(path), shape, str(path))
