"""The command line shortens OpenBLAS's spin after each product, before NumPy loads OpenBLAS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlpbench.bench.environment import collect_environment

SHOW_SETTING = (
    "import os, sys\n"
    "import mlpbench.cli\n"
    "print(os.environ['OPENBLAS_THREAD_TIMEOUT'], 'numpy' in sys.modules)\n"
)


def run_python(code: str, timeout_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("OPENBLAS_THREAD_TIMEOUT", None)
    if timeout_value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = timeout_value
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_cli_sets_spin_before_numpy() -> None:
    assert run_python(SHOW_SETTING, None) == "22 False"


def test_cli_keeps_user_spin_setting() -> None:
    assert run_python(SHOW_SETTING, "12") == "12 False"


def test_cli_skips_spin_after_numpy() -> None:
    code = "import os, numpy, mlpbench.cli\nprint(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    assert run_python(code, None) == "None"


def test_package_import_leaves_numpy_unloaded() -> None:
    code = "import sys, mlpbench\nprint('numpy' in sys.modules, mlpbench.NumpyMLP.__name__)"
    assert run_python(code, None) == "False NumpyMLP"


def test_package_lists_lazy_engines() -> None:
    import mlpbench

    assert {"NumpyMLP", "SklearnMLP", "TorchDataLoaderMLP", "TorchMLP", "__version__"} <= set(dir(mlpbench))
    assert not {"Any", "TYPE_CHECKING", "annotations"} & set(dir(mlpbench))
    # The baselines as compare runs them, importable from the package like the engines.
    assert mlpbench.SklearnMLP.engine_name == "sklearn"
    assert mlpbench.TorchDataLoaderMLP.engine_name == "torch-dataloader"


def test_environment_records_spin_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "22")
    environment = collect_environment(threads=1)
    assert environment["environment_variables"]["OPENBLAS_THREAD_TIMEOUT"] == "22"
