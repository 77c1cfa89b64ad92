"""Calls into the BLAS library that NumPy itself uses, for two operations NumPy lacks.

``np.matmul`` always writes a fresh product. BLAS ``gemm`` can add the product
to an existing matrix (``C = A.T @ B + beta * C``) and ``axpy`` adds a scaled
vector in place (``y += alpha * x``), which lets the SGD step put each weight
gradient straight into its momentum buffer. Calling NumPy's own library keeps
one BLAS thread pool. A second library, such as SciPy's, would start its own
pool, and the two compete for the same cores.

Only builds that export the 64-bit-integer CBLAS symbols (``scipy_cblas_sgemm64_``
in NumPy's wheels, ``cblas_sgemm64_`` elsewhere) are used. Anything else returns
None from ``numpy_blas()``, and the engine falls back to plain NumPy.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

ROW_MAJOR = 101
NO_TRANS = 111
TRANS = 112
SYMBOL_PATTERNS = ("scipy_cblas_{}64_", "cblas_{}64_")


class Blas:
    """``gemm`` and ``axpy`` for float32 and float64 arrays, through ctypes."""

    def __init__(self, library: ctypes.CDLL, pattern: str) -> None:
        i64 = ctypes.c_int64
        pointer = ctypes.c_void_p
        self._gemm = {}
        self._axpy = {}
        for dtype, letter, scalar in ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double)):
            gemm = getattr(library, pattern.format(letter + "gemm"))
            gemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i64, i64, i64, scalar, pointer, i64]
            gemm.argtypes += [pointer, i64, scalar, pointer, i64]
            gemm.restype = None
            axpy = getattr(library, pattern.format(letter + "axpy"))
            axpy.argtypes = [i64, scalar, pointer, i64, pointer, i64]
            axpy.restype = None
            self._gemm[np.dtype(dtype)] = gemm
            self._axpy[np.dtype(dtype)] = axpy

    def add_transposed_product(self, A: np.ndarray, B: np.ndarray, C: np.ndarray, beta: float) -> None:
        """Set ``C = A.T @ B + beta * C`` in place; ``beta = 0`` ignores C's old values.

        A (k, m) must be C-contiguous, B (k, n) C- or F-contiguous, C (m, n)
        C-contiguous, all of one dtype. ValueError otherwise.
        """
        gemm = self._gemm.get(C.dtype)
        if (
            gemm is None
            or A.dtype != C.dtype
            or B.dtype != C.dtype
            or not A.flags.c_contiguous
            or not C.flags.c_contiguous
            or not (B.flags.c_contiguous or B.flags.f_contiguous)
        ):
            raise ValueError("add_transposed_product needs contiguous float32 or float64 arrays of one dtype")
        k, m = A.shape
        n = B.shape[1]
        if B.shape[0] != k or C.shape != (m, n):
            raise ValueError(f"shapes do not match: A {A.shape}, B {B.shape}, C {C.shape}")
        if B.flags.c_contiguous:
            # B's rows are its samples: read it as stored.
            b_trans, ldb = NO_TRANS, n
        else:
            # Column-major B is B.T stored row-major: ask gemm to transpose it back.
            b_trans, ldb = TRANS, k
        args = (m, n, k, 1.0, A.ctypes.data, m, B.ctypes.data, ldb, beta, C.ctypes.data, n)
        gemm(ROW_MAJOR, TRANS, b_trans, *args)

    def axpy(self, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
        """Set ``y += alpha * x`` in place for contiguous 1-D arrays of one dtype."""
        axpy = self._axpy.get(y.dtype)
        if (
            axpy is None
            or x.dtype != y.dtype
            or x.shape != y.shape
            or x.ndim != 1
            or not x.flags.c_contiguous
            or not y.flags.c_contiguous
        ):
            raise ValueError("axpy needs two contiguous 1-D float32 or float64 arrays of one shape")
        axpy(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)


def _agrees_with_numpy(blas: Blas) -> bool:
    """Check both routines on small arrays of each dtype against NumPy's own arithmetic."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        A = rng.normal(size=(5, 3)).astype(dtype)
        B = np.asfortranarray(rng.normal(size=(5, 4)).astype(dtype))
        C = rng.normal(size=(3, 4)).astype(dtype)
        expected = A.T @ B + 0.5 * C
        blas.add_transposed_product(A, B, C, 0.5)
        x = rng.normal(size=7).astype(dtype)
        y = rng.normal(size=7).astype(dtype)
        expected_y = y - 0.25 * x
        blas.axpy(-0.25, x, y)
        if not (np.allclose(C, expected, rtol=1e-5) and np.allclose(y, expected_y, rtol=1e-5)):
            return False
    return True


@functools.cache
def numpy_blas() -> Blas | None:
    """Return the BLAS routines that NumPy's own library exports, or None where it exports none."""
    try:
        library = ctypes.CDLL(np._core._multiarray_umath.__file__)
    except (AttributeError, OSError):
        return None
    for pattern in SYMBOL_PATTERNS:
        try:
            blas = Blas(library, pattern)
        except AttributeError:
            continue
        return blas if _agrees_with_numpy(blas) else None
    return None
