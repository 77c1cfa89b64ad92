"""Parameter files: ``.npz`` for NumPy and ``.pt`` for PyTorch, readable by either engine.

Both formats hold the same content: the layer sizes, the dtype, the constructor
settings, one weight and one bias per layer, and the training state needed to
resume (epoch counter, batch-order generator state, momentum buffers, history).
Models trained with ``standardize=True`` also store ``feature_mean`` and
``feature_scale``, one value per input feature, and models fitted on a DataFrame
with string column names store them as ``feature_names``.
An optional ``dataset`` entry records what the model was trained on (name, SHA-256
digest of the training split, class names, image shape) as JSON; files without it
load with ``dataset`` None. The batch-order state is a JSON string: a NumPy
generator state, or for ``torch-dataloader`` a ``torch_generator`` state, which
versions before it cannot read.

``.npz`` arrays are named ``W0, b0, W1, b1, ...`` with W in (fan_in, fan_out)
layout, and momentum buffers are ``momentum_W0, ...``. Strings are stored as 0-d
unicode arrays, so the file loads with ``allow_pickle=False``.

``.pt`` files hold a dict of tensors, strings and numbers loadable with
``torch.load(..., weights_only=True)``: ``state_dict`` uses the keys of
``TorchMLP``'s module (``layers.0.weight`` in (fan_out, fan_in) layout, as
``nn.Linear`` stores it) and ``momentum`` uses the same keys.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from mlpbench.atomic import atomic_writer, write_target
from mlpbench.errors import CheckpointError, CheckpointNotFoundError
from mlpbench.npzfile import (
    MODEL_ARCHIVE,
    MODEL_FORMAT,
    MODEL_SNIFF_BYTES,
    READ_ERRORS,
    describe_read_error,
    is_model_archive,
    is_object_array_error,
    loaded_numpy_file,
    model_archive_suffix,
    numpy_file_kind,
)
from mlpbench.threads import check_threads
from mlpbench.training.hyperparams import DTYPES, validate_some_hyperparameters
from mlpbench.training.init import hidden_sizes, layer_sizes

if TYPE_CHECKING:
    from mlpbench.engines.base import MLPEstimator, Params

FORMAT = MODEL_FORMAT
FORMAT_VERSION = 1
SUFFIXES = (".npz", ".pt")
EXPECTED_FILE = "expected a .npz or .pt file written by mlpbench train --save or a model's save()"
_SAVE_AGAIN_ONLY = "save the model again (with model.save(path) or mlpbench train --save)"
# The fix named when a file cannot be read at all.
_SAVE_AGAIN = f"it may be truncated or not a checkpoint, so {_SAVE_AGAIN_ONLY}"

Estimator = TypeVar("Estimator", bound="MLPEstimator")


@dataclass
class Checkpoint:
    """Engine-neutral content of a parameter file, arrays in (fan_in, fan_out) layout."""

    layer_sizes: list[int]
    dtype: str
    engine: str
    config: dict[str, Any]
    params: Params
    epoch: int = 0
    batch_rng_state: str | None = None
    momentum: Params | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    # JSON-compatible facts about the training data, e.g. {"name": "fashion-mnist",
    # "class_names": [...], "image_shape": [28, 28]}; None when not recorded.
    dataset: dict[str, Any] | None = None
    feature_mean: np.ndarray | None = None
    feature_scale: np.ndarray | None = None
    # The DataFrame column names the model was fitted with (feature_names_in_), or None.
    feature_names: list[str] | None = None

    def model_settings(self) -> dict[str, Any]:
        """Return the estimator settings in ``config``, with hidden, dtype and standardize from the arrays.

        Older files may lack standardize in their config, or record a hidden or dtype
        set after fitting, so the arrays decide those three.
        """
        settings = dict(self.config)
        settings["hidden"] = list(self.layer_sizes[1:-1])
        settings["dtype"] = self.dtype
        settings["standardize"] = self.feature_mean is not None
        return settings

    def validate(self, source: str) -> None:
        """Raise CheckpointError naming the first entry or array that does not fit the others.

        Checks the dtype and engine entries, and each array's dtype and shape
        against ``layer_sizes``.
        """
        from mlpbench.engines.registry import LOADING_ENGINES

        if self.dtype not in DTYPES:
            raise CheckpointError(
                f"{source}: its dtype entry is {self.dtype!r}, but mlpbench writes float32 or float64; "
                "the file was edited or not written by mlpbench"
            )
        if self.engine not in LOADING_ENGINES:
            raise CheckpointError(
                f"{source}: its engine entry is {self.engine!r}, but mlpbench writes one of "
                f"{', '.join(LOADING_ENGINES)}; the file was edited or not written by mlpbench"
            )
        if len(self.layer_sizes) < 2:
            raise CheckpointError(f"{source}: layer sizes {self.layer_sizes} need at least 2 entries")
        self._check_json_entries(source)
        if len(self.params) != len(self.layer_sizes) - 1:
            raise CheckpointError(
                f"{source}: {len(self.params)} layers of parameters, but layer sizes "
                f"{self.layer_sizes} need {len(self.layer_sizes) - 1}"
            )
        groups = [("", self.params)]
        if self.momentum is not None:
            groups.append(("momentum_", self.momentum))
        found = _feature_names_problem(self.feature_names, self.layer_sizes[0])
        if found is not None:
            raise CheckpointError(
                f"{source}: its 'feature_names' entry must list {self.layer_sizes[0]} column names, one per "
                f"input feature, but contains {found}; the file was edited or not written by mlpbench"
            )
        for name in ("feature_mean", "feature_scale"):
            array = getattr(self, name)
            if array is not None:
                _check_floating(source, name, array)
                _check_shape(source, name, array.shape, (self.layer_sizes[0],))
                if not np.isfinite(array).all() or (name == "feature_scale" and (array <= 0).any()):
                    raise CheckpointError(f"{source}: array {name} contains invalid values")
        for prefix, arrays in groups:
            for index, (W, b) in enumerate(arrays):
                fan_in, fan_out = self.layer_sizes[index], self.layer_sizes[index + 1]
                _check_shape(source, f"{prefix}W{index}", W.shape, (fan_in, fan_out))
                _check_shape(source, f"{prefix}b{index}", b.shape, (fan_out,))
                for name, array in ((f"{prefix}W{index}", W), (f"{prefix}b{index}", b)):
                    _check_floating(source, name, array)
                    if not np.isfinite(array).all():
                        raise CheckpointError(f"{source}: array {name} contains NaN or infinity")

    def _check_json_entries(self, source: str) -> None:
        """Raise CheckpointError when the config, history or dataset entry has the wrong structure.

        The config may name only the settings in ``CONFIG_KEYS``. Their values are not
        judged here: a model that only predicts uses few of them, and an older mlpbench
        accepted some that this one rejects. ``check_restore_settings`` checks those that
        restoring uses, ``train --resume`` the rest before it trains, and ``fit`` all.
        """
        edited = "the file was edited or not written by mlpbench"
        if not isinstance(self.config, dict) or not all(isinstance(key, str) for key in self.config):
            raise CheckpointError(
                f"{source}: its 'config' entry must be a JSON object of settings, but is a "
                f"{_json_type(self.config)}; {edited}"
            )
        unknown = sorted(key for key in self.config if key not in CONFIG_KEYS)
        if unknown:
            raise CheckpointError(
                f"{source}: its 'config' entry has the setting {unknown[0]!r}, which mlpbench does not "
                f"write; {edited}"
            )
        if not isinstance(self.history, list):
            raise CheckpointError(
                f"{source}: its 'history' entry must be a JSON list of per-epoch records, but is a "
                f"{_json_type(self.history)}; {edited}"
            )
        for number, record in enumerate(self.history, start=1):
            if not isinstance(record, dict):
                raise CheckpointError(
                    f"{source}: record {number} of its 'history' entry is a {_json_type(record)}, not an "
                    f"object of per-epoch numbers; {edited}"
                )
            for key, value in record.items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise CheckpointError(
                        f"{source}: record {number} of its 'history' entry has {key}={value!r}, but "
                        f"the records contain numbers; {edited}"
                    )
        problem = _dataset_problem(self.dataset)
        if problem is not None:
            raise CheckpointError(f"{source}: its 'dataset' entry {problem}; {edited}")


CONFIG_KEYS = frozenset(
    (
        "hidden",
        "epochs",
        "batch_size",
        "lr",
        "momentum",
        "weight_decay",
        "schedule",
        "dtype",
        "seed",
        "standardize",
    )
)
"""The settings that ``MLPEstimator.get_config`` writes into a checkpoint's config (the same in
every earlier version)."""


def check_restore_settings(model: MLPEstimator) -> None:
    """Raise TypeError or ValueError for a setting of ``model`` that restoring or predicting uses.

    Those are dtype (the parameters are cast to it), lr, momentum and weight_decay (the
    torch engine builds its optimizer with them) and threads. The settings that only
    ``fit`` uses, such as seed or batch_size, are left for ``fit`` to check.
    """
    used = {name: getattr(model, name) for name in ("dtype", "lr", "momentum", "weight_decay")}
    validate_some_hyperparameters(used, valid=type(model)().get_config())
    check_threads(model.threads)


def _json_type(value: object) -> str:
    """Return the JSON name of a parsed JSON value's type, such as "list" or "string"."""
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


DATASET_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "train_sha256": (str,),
    "n_classes": (int,),
    "class_names": (list,),
    "image_shape": (list,),
}
"""Types of the dataset entry's fields that mlpbench reads; each may also be null."""


def _dataset_problem(dataset: object) -> str | None:
    """Describe what is wrong with a checkpoint's dataset entry, or return None when it fits."""
    if dataset is None:
        return None
    if not isinstance(dataset, dict):
        return f"must be a JSON object, but is a {_json_type(dataset)}"
    for key, types in DATASET_ENTRY_TYPES.items():
        value = dataset.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            return f"has {key}={value!r}, which should be a {_json_type(types[0]())}"
    for key, item_type in (("class_names", str), ("image_shape", int)):
        items = dataset.get(key) or []
        if not all(isinstance(item, item_type) and not isinstance(item, bool) for item in items):
            return f"has {key}={items!r}, which should list {_json_type(item_type())}s"
    return None


def _check_floating(source: str, name: str, array: np.ndarray) -> None:
    if array.dtype.kind != "f":
        raise CheckpointError(
            f"{source}: array {name} has dtype {array.dtype}, but parameters are floating point; "
            "the file was edited or not written by mlpbench"
        )


def _check_shape(source: str, name: str, actual: tuple[int, ...], expected: tuple[int, ...]) -> None:
    if tuple(actual) != expected:
        raise CheckpointError(
            f"{source}: array {name} has shape {tuple(actual)}, but the architecture needs {expected}"
        )


# ----- estimator <-> checkpoint -----------------------------------------------------------


def checkpoint_from_model(model: MLPEstimator, dataset: dict[str, Any] | None = None) -> Checkpoint:
    """Capture a fitted model's parameters and training state, with optional data set facts."""
    from mlpbench.engines.registry import LOADING_ENGINES

    if not model.is_fitted:
        raise CheckpointError("the model is not fitted; there are no parameters to save")
    if model.engine_name not in LOADING_ENGINES:
        raise CheckpointError(
            f"the {model.engine_name} engine cannot save checkpoints, because it could not load them; "
            f"use one of {', '.join(LOADING_ENGINES)}"
        )
    # The settings the parameters were fitted with: a hidden, dtype or standardize
    # set after fitting changes none of them.
    sizes = list(model.layer_sizes_ or [])
    fitted = {
        "hidden": sizes[1:-1],
        "dtype": model._fitted_dtype or model.dtype_name,
        "standardize": model.feature_mean_ is not None,
    }
    config = {**model.get_config(), **fitted}
    # set_params does not check values, so a setting that loading needs may be invalid
    # now; a file written with it could not be loaded again.
    try:
        check_restore_settings(type(model)(**config))
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"cannot save the model: a setting that loading it needs is invalid ({error}); set a "
            "valid value with set_params() and save again"
        ) from error
    return Checkpoint(
        layer_sizes=sizes,
        dtype=fitted["dtype"],
        engine=model.engine_name,
        config=config,
        params=model.get_parameters(),
        epoch=model.epoch_,
        batch_rng_state=model._get_batch_state(),
        momentum=model._get_momentum_buffers(),
        history=list(model.history_),
        dataset=dataset,
        feature_mean=model.feature_mean_,
        feature_scale=model.feature_scale_,
        feature_names=_names_or_none(getattr(model, "feature_names_in_", None)),
    )


def restore_model(
    model: MLPEstimator, checkpoint: Checkpoint, source: str, *, need_batch_order: bool = True
) -> bool:
    """Install a checkpoint's parameters and training state into ``model``.

    Returns True when the mini-batch shuffle was restored too, False when the file
    has none that this engine can continue (one written by an engine that shuffles
    another way), so that the next epochs draw a fresh order.
    The model's own hidden sizes must match the file's; a mismatch raises
    CheckpointError naming the first layer that differs and both shapes. An unreadable
    saved order raises CheckpointError too, unless ``need_batch_order`` is False (for
    models that only predict).
    """
    expected = layer_sizes(checkpoint.layer_sizes[0], model.hidden, checkpoint.layer_sizes[-1])
    if expected != checkpoint.layer_sizes:
        for index in range(max(len(expected), len(checkpoint.layer_sizes)) - 1):
            want = tuple(expected[index : index + 2])
            have = tuple(checkpoint.layer_sizes[index : index + 2])
            if want != have:
                raise CheckpointError(
                    f"{source}: layer {index} has weight shape {have}, but the model with "
                    f"hidden={hidden_sizes(model.hidden)} needs {want}"
                )
    model.layer_sizes_ = list(checkpoint.layer_sizes)
    model._set_parameters(checkpoint.params)
    model._fitted_dtype = model.dtype_name
    model._set_momentum_buffers(checkpoint.momentum)
    model.epoch_ = checkpoint.epoch
    model.history_ = list(checkpoint.history)
    model.feature_mean_ = _cast(checkpoint.feature_mean, model.dtype)
    model.feature_scale_ = _cast(checkpoint.feature_scale, model.dtype)
    names = checkpoint.feature_names
    model._set_feature_names(None if names is None else np.asarray(names, dtype=object))
    model.batch_losses_ = []
    try:
        return model._set_batch_state(checkpoint.batch_rng_state)
    except (ValueError, KeyError, TypeError) as error:
        if not need_batch_order:
            model.batch_order_ = None
            return False
        raise CheckpointError(
            f"{source}: the saved mini-batch order is unreadable ({error}); "
            "the file is damaged, so resume from an earlier copy or train afresh"
        ) from error


def _feature_names_problem(names: object, n_features: int) -> str | None:
    """Describe what is wrong with a checkpoint's feature names, or return None when they fit."""
    if names is None:
        return None
    if not isinstance(names, list):
        return f"a {type(names).__name__}"
    if not all(isinstance(name, str) for name in names):
        return "names that are not strings"
    if len(names) != n_features:
        return f"{len(names)} names"
    return None


def _cast(array: np.ndarray | None, dtype: str) -> np.ndarray | None:
    return None if array is None else np.asarray(array, dtype=dtype)


def _names_or_none(names: np.ndarray | None) -> list[str] | None:
    return None if names is None else [str(name) for name in names]


def save_checkpoint(model: MLPEstimator, path: str | Path, *, dataset: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` atomically; the suffix picks ``.npz`` or ``.pt``.

    ``dataset`` (JSON-compatible) is stored as the checkpoint's ``dataset`` entry.
    """
    path = Path(path)
    checkpoint = checkpoint_from_model(model, dataset)
    writers = {".npz": _write_npz, ".pt": _write_pt}
    suffix = path.suffix.lower()
    if suffix not in writers:
        raise CheckpointError(f"cannot save to {path}: use a .npz or .pt file name")
    _check_replaceable(path)
    try:
        with atomic_writer(path) as handle:
            writers[suffix](checkpoint, handle)
    except FileNotFoundError as error:
        raise CheckpointError(f"cannot save to {path}: {error}") from error
    except OSError as error:
        raise CheckpointError(
            f"cannot save to {path}: {error.strerror or error}; any previous file is unchanged"
        ) from error
    return path


def _check_replaceable(path: Path) -> None:
    """Raise CheckpointError when ``path`` is a file other than a model file, which saving would destroy.

    A model file is replaced, as saving again after more training does, and so is an empty file.
    """
    target = write_target(path)
    if not target.exists() or target.is_dir():
        return  # the write itself reports a folder
    if not target.is_file():
        # Opening a FIFO would wait for a writer, and the write would replace it or a device.
        raise CheckpointError(f"cannot save to {path}: it is not a regular file; give a file name")
    try:
        with open(target, "rb") as handle:
            start = handle.read(MODEL_SNIFF_BYTES)
    except OSError as error:
        raise CheckpointError(
            f"cannot save to {path}: the existing file cannot be read to check that it is a model "
            f"({error.strerror or error}); choose another file name"
        ) from error
    if start and not is_model_archive(start):
        raise CheckpointError(
            f"cannot save to {path}: it already exists and is not {MODEL_ARCHIVE}, so it was left "
            "alone; choose another file name, or delete that file first if it may go"
        )


def _suffix_hint(path: Path) -> str:
    """Name the suffix that a model file with another name needs, or return "" for other files."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(MODEL_SNIFF_BYTES)
    except OSError:
        return ""
    suffix = model_archive_suffix(start)
    return "" if suffix is None else f"; {path.name} contains a model, so rename it to end in {suffix}"


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read and validate a ``.npz`` or ``.pt`` parameter file of either engine."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder; give the .npz or .pt file inside it")
    if path.exists() and not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a regular file; give a .npz or .pt file")
    if not path.is_file():
        raise CheckpointNotFoundError(
            f"checkpoint {path} not found; check the path, or write one with model.save(path) or "
            "mlpbench train --save"
        )
    readers = {".npz": _read_npz, ".pt": _read_pt}
    suffix = path.suffix.lower()
    if suffix not in readers:
        raise CheckpointError(f"cannot read {path}: {EXPECTED_FILE}{_suffix_hint(path)}")
    checkpoint = readers[suffix](path)
    checkpoint.validate(str(path))
    return checkpoint


def load_into(cls: type[Estimator], path: str | Path, **overrides: Any) -> Estimator:
    """Build a ``cls`` estimator from the file's settings (``overrides`` win) and restore it."""
    checkpoint = read_checkpoint(path)
    config = checkpoint.model_settings()
    config["hidden"] = tuple(config["hidden"])
    if "standardize" in overrides and bool(overrides["standardize"]) != config["standardize"]:
        raise CheckpointError(
            f"{path} was trained with standardize={config['standardize']}, so it cannot be loaded "
            f"with standardize={overrides['standardize']}; leave standardize out, or train a new model"
        )
    # An override is the caller's own argument, so it is checked in full and on its own;
    # its error is the caller's, not the file's.
    if overrides:
        # In the file's dtype unless overridden, which decides the largest lr.
        cls(**{"dtype": config["dtype"], **overrides})._validate_hyperparameters()
    config.update(overrides)
    try:
        model = cls(**config)
        # The parameters are cast to dtype, and the torch engine builds its optimizer.
        check_restore_settings(model)
    except (TypeError, ValueError) as error:
        # A setting from the file: an older mlpbench accepted it, or the file was edited.
        raise CheckpointError(
            f"{path}: a setting stored in it is invalid ({error}); pass that setting to load() "
            "with a valid value to replace it"
        ) from error
    restore_model(model, checkpoint, str(path))
    return model


def _json_entry(path: Path, name: str, text: object) -> Any:
    """Parse a checkpoint's JSON entry ``name``, raising CheckpointError when it is not JSON."""
    try:
        return json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: its '{name}' entry is not valid JSON ({error}); it was not written by "
            "mlpbench, or it was edited"
        ) from error


def _int_entry(path: Path, name: str, value: object, minimum: int) -> int:
    """Return a checkpoint's integer entry, raising CheckpointError for any other type or a small value."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise CheckpointError(
            f"{path}: its '{name}' entry is {value!r}, but it must be an integer of at least {minimum}; "
            "the file was edited or not written by mlpbench"
        )
    return int(value)


def _layer_sizes(path: Path, values: object) -> list[int]:
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    if not isinstance(values, list | tuple):
        raise CheckpointError(f"{path}: its 'layer_sizes' entry {values!r} is not a list of integers")
    return [_int_entry(path, "layer_sizes", value, 1) for value in values]


def _check_format(path: Path, name: object, version: object) -> None:
    """Reject a file of another format, or of a newer format version than this mlpbench reads."""
    if name is not None and str(name) != FORMAT:
        raise CheckpointError(
            f"{path}: its format entry is {str(name)!r}, not {FORMAT!r}; it is not an mlpbench checkpoint"
        )
    if version is not None and _int_entry(path, "format_version", version, 1) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {int(version)}, but this mlpbench reads version "
            f"{FORMAT_VERSION} and older; upgrade mlpbench to read it"
        )


def _check_no_extra_layers(path: Path, names: list[str], pattern: str, n_layers: int) -> None:
    """Reject parameters for layers that ``layer_sizes`` does not have, such as ``W2`` for 2 layers."""
    for name in sorted(names):
        match = re.fullmatch(pattern, name)
        if match and int(match.group(1)) >= n_layers:
            raise CheckpointError(
                f"{path} has {name}, but its layer_sizes describe {n_layers} layer(s); "
                "the file was edited or damaged"
            )


# ----- .npz -------------------------------------------------------------------------------


def _write_npz(checkpoint: Checkpoint, handle: Any) -> None:
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "layer_sizes": np.array(checkpoint.layer_sizes, dtype=np.int64),
        "dtype": np.array(checkpoint.dtype),
        "engine": np.array(checkpoint.engine),
        "config": np.array(json.dumps(checkpoint.config)),
        "epoch": np.array(checkpoint.epoch, dtype=np.int64),
        "history": np.array(json.dumps(checkpoint.history)),
    }
    if checkpoint.dataset is not None:
        arrays["dataset"] = np.array(json.dumps(checkpoint.dataset))
    if checkpoint.feature_names is not None:
        arrays["feature_names"] = np.array(json.dumps(checkpoint.feature_names))
    if checkpoint.feature_mean is not None and checkpoint.feature_scale is not None:
        arrays["feature_mean"] = checkpoint.feature_mean
        arrays["feature_scale"] = checkpoint.feature_scale
    if checkpoint.batch_rng_state is not None:
        arrays["batch_rng_state"] = np.array(checkpoint.batch_rng_state)
    for index, (W, b) in enumerate(checkpoint.params):
        arrays[f"W{index}"] = W
        arrays[f"b{index}"] = b
    for index, (W, b) in enumerate(checkpoint.momentum or []):
        arrays[f"momentum_W{index}"] = W
        arrays[f"momentum_b{index}"] = b
    np.savez(handle, **arrays)


_NPZ_PARAMETER_NAME = r"(?:momentum_)?[Wb](\d+)"
_NPZ_ENTRIES = frozenset(
    (
        "format",
        "format_version",
        "layer_sizes",
        "dtype",
        "engine",
        "config",
        "epoch",
        "history",
        "dataset",
        "feature_names",
        "feature_mean",
        "feature_scale",
        "batch_rng_state",
    )
)
"""The arrays of a .npz checkpoint other than the parameters and momentum buffers."""


def _read_npz(path: Path) -> Checkpoint:
    try:
        if numpy_file_kind(path) != "npz":
            raise ValueError("no zip signature at its start")
        with loaded_numpy_file(path) as data:
            arrays = {name: data[name] for name in data.files}
    except READ_ERRORS as error:
        reason = describe_read_error(error)
        # An object array is intact, just refused, so "it may be truncated" would mislead.
        fix = _SAVE_AGAIN_ONLY if is_object_array_error(error) else _SAVE_AGAIN
        raise CheckpointError(f"{path} is not a readable .npz file ({reason}); {fix}") from error
    if "layer_sizes" not in arrays:
        # torch.save writes a zip archive too, whose pickle is data.pkl inside one folder.
        if any(name.endswith("/data.pkl") for name in arrays):
            raise CheckpointError(
                f"{path} is a PyTorch archive (as torch.save writes) with a .npz name; "
                "if it is an mlpbench .pt checkpoint, rename it to end in .pt"
            )
        raise CheckpointError(f"{path} has no 'layer_sizes' array; it was not written by mlpbench")
    _check_format(path, arrays.get("format"), arrays.get("format_version"))
    sizes = _layer_sizes(path, arrays["layer_sizes"])
    _check_no_extra_layers(path, list(arrays), _NPZ_PARAMETER_NAME, len(sizes) - 1)
    # As for a .pt file's unknown tensor: an array that mlpbench does not read may be a
    # misspelt parameter, which must not be left out silently.
    unknown = sorted(
        name for name in arrays if name not in _NPZ_ENTRIES and not re.fullmatch(_NPZ_PARAMETER_NAME, name)
    )
    if unknown:
        raise CheckpointError(
            f"{path} has the unknown array {unknown[0]!r}, which mlpbench does not write; "
            "the file was edited or not written by mlpbench"
        )

    def pairs(prefix: str) -> Params:
        out = []
        for index in range(len(sizes) - 1):
            names = (f"{prefix}W{index}", f"{prefix}b{index}")
            missing = [name for name in names if name not in arrays]
            if missing:
                raise CheckpointError(
                    f"{path} is missing array {missing[0]}, so it was edited or damaged; {_SAVE_AGAIN_ONLY}"
                )
            out.append((arrays[names[0]], arrays[names[1]]))
        return out

    dtype = str(arrays.get("dtype", np.array("float32")))
    return Checkpoint(
        layer_sizes=sizes,
        dtype=dtype,
        engine=str(arrays.get("engine", np.array("numpy"))),
        config=_json_entry(path, "config", str(arrays.get("config", np.array("{}")))),
        params=pairs(""),
        epoch=_int_entry(path, "epoch", arrays.get("epoch", 0), 0),
        batch_rng_state=str(arrays["batch_rng_state"]) if "batch_rng_state" in arrays else None,
        # Any momentum array means the file had buffers, so a missing one is an error.
        momentum=pairs("momentum_") if any(name.startswith("momentum_") for name in arrays) else None,
        history=_json_entry(path, "history", str(arrays.get("history", np.array("[]")))),
        dataset=_json_entry(path, "dataset", str(arrays["dataset"])) if "dataset" in arrays else None,
        feature_mean=arrays.get("feature_mean"),
        feature_scale=arrays.get("feature_scale"),
        feature_names=_json_entry(path, "feature_names", str(arrays["feature_names"]))
        if "feature_names" in arrays
        else None,
    )


# ----- .pt --------------------------------------------------------------------------------


def _write_pt(checkpoint: Checkpoint, handle: Any) -> None:
    import torch

    def to_state(pairs: Params) -> dict[str, torch.Tensor]:
        state = {}
        for index, (W, b) in enumerate(pairs):
            # nn.Linear stores weights as (fan_out, fan_in).
            state[f"layers.{index}.weight"] = torch.from_numpy(np.ascontiguousarray(W.T))
            state[f"layers.{index}.bias"] = torch.from_numpy(np.ascontiguousarray(b))
        return state

    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layer_sizes": list(checkpoint.layer_sizes),
        "dtype": checkpoint.dtype,
        "engine": checkpoint.engine,
        "config": json.dumps(checkpoint.config),
        "epoch": checkpoint.epoch,
        "batch_rng_state": checkpoint.batch_rng_state,
        "history": json.dumps(checkpoint.history),
        "dataset": json.dumps(checkpoint.dataset) if checkpoint.dataset is not None else None,
        "feature_names": None if checkpoint.feature_names is None else json.dumps(checkpoint.feature_names),
        "feature_mean": _tensor_or_none(checkpoint.feature_mean),
        "feature_scale": _tensor_or_none(checkpoint.feature_scale),
        "state_dict": to_state(checkpoint.params),
        "momentum": to_state(checkpoint.momentum) if checkpoint.momentum is not None else None,
    }
    torch.save(payload, handle)


def _tensor_or_none(array: np.ndarray | None) -> Any:
    import torch

    return None if array is None else torch.from_numpy(np.ascontiguousarray(array))


def _numpy_or_none(tensor: Any) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().cpu().numpy()


_PT_TENSOR_NAME = r"layers\.(\d+)\.(?:weight|bias)"
"""A .pt state_dict key such as ``layers.0.weight``; the group is the layer index."""


def _read_pt(path: Path) -> Checkpoint:
    import torch

    if not zipfile.is_zipfile(path):
        # torch.save has written zip archives since PyTorch 1.6; anything else here is damaged.
        raise CheckpointError(
            f"{path} is not a readable .pt file (not a zip archive as torch.save writes); {_SAVE_AGAIN}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            # torch.load does not check the CRC-32 of each member, so damaged bytes in a
            # tensor would load as wrong weights. np.load checks them for .npz files.
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"{path} is not a readable .pt file ({error}); {_SAVE_AGAIN}") from error
    if damaged is not None:
        raise CheckpointError(
            f"{path} is damaged: its member {damaged} fails the CRC-32 check; save the model again"
        )
    if not names:
        raise CheckpointError(f"{path} is not a readable .pt file (an empty zip archive); {_SAVE_AGAIN}")
    if all("/" not in name and name.endswith(".npy") for name in names):
        raise CheckpointError(
            f"{path} is a NumPy .npz archive with a .pt name; if it is an mlpbench .npz "
            "checkpoint, rename it to end in .npz"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} contains Python objects other than tensors, so it was not loaded "
            f"(mlpbench loads .pt files with weights_only=True); {EXPECTED_FILE}"
        ) from error
    except Exception as error:  # noqa: BLE001 - a corrupt archive fails in many ways (IndexError, RuntimeError, ...)
        raise CheckpointError(
            f"{path} is not a readable .pt file ({type(error).__name__}: {error}); {_SAVE_AGAIN}"
        ) from error
    if not isinstance(payload, dict) or "state_dict" not in payload or "layer_sizes" not in payload:
        raise CheckpointError(
            f"{path} has no 'state_dict' and 'layer_sizes', so mlpbench did not write it; {EXPECTED_FILE}"
        )
    _check_format(path, payload.get("format"), payload.get("format_version"))
    sizes = _layer_sizes(path, payload["layer_sizes"])

    def from_state(state: object, entry: str) -> Params:
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: its '{entry}' entry is not a dict of tensors")
        _check_no_extra_layers(path, list(state), _PT_TENSOR_NAME, len(sizes) - 1)
        unknown = [name for name in state if not re.fullmatch(_PT_TENSOR_NAME, str(name))]
        if unknown:
            raise CheckpointError(f"{path}: its '{entry}' entry has the unknown tensor {unknown[0]!r}")
        out = []
        for index in range(len(sizes) - 1):
            names = (f"layers.{index}.weight", f"layers.{index}.bias")
            missing = [name for name in names if name not in state]
            if missing:
                raise CheckpointError(f"{path}: its '{entry}' entry is missing tensor {missing[0]}")
            weight, bias = (state[name].detach().cpu().numpy() for name in names)
            out.append((np.ascontiguousarray(weight.T), bias))
        return out

    momentum = payload.get("momentum")
    dataset = payload.get("dataset")
    feature_names = payload.get("feature_names")
    return Checkpoint(
        layer_sizes=sizes,
        dtype=str(payload.get("dtype", "float32")),
        engine=str(payload.get("engine", "torch")),
        config=_json_entry(path, "config", payload.get("config", "{}")),
        params=from_state(payload["state_dict"], "state_dict"),
        epoch=_int_entry(path, "epoch", payload.get("epoch", 0), 0),
        batch_rng_state=payload.get("batch_rng_state"),
        momentum=from_state(momentum, "momentum") if momentum is not None else None,
        history=_json_entry(path, "history", payload.get("history", "[]")),
        dataset=_json_entry(path, "dataset", dataset) if dataset is not None else None,
        feature_mean=_numpy_or_none(payload.get("feature_mean")),
        feature_scale=_numpy_or_none(payload.get("feature_scale")),
        feature_names=None if feature_names is None else _json_entry(path, "feature_names", feature_names),
    )
