"""Data sets for mlpbench: scikit-learn's digits, MNIST, Fashion-MNIST, and files at a path.

Every loader returns a ``Dataset`` with features flattened to ``(n, n_features)``
and scaled to [0, 1], and int64 labels. See ``load_dataset`` for what a name or
path may be, and ``mlpbench.data.sources`` for the files, checksums and mirrors of
the named IDX data sets.
"""

from mlpbench.data.dataset import Dataset
from mlpbench.data.idx import read_idx, write_idx
from mlpbench.data.load import dataset_names, list_datasets, load_dataset

__all__ = ["Dataset", "dataset_names", "list_datasets", "load_dataset", "read_idx", "write_idx"]
