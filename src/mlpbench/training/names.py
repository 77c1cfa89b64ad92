"""Hints for settings written under the names that scikit-learn, PyTorch and training scripts use.

For an unknown name, the estimators, ``set_params``, the config files and the
command line name the setting it most likely means, or report that mlpbench has none.
"""

from __future__ import annotations

import difflib

OTHER_NAMES: dict[str, tuple[str, ...]] = {
    # scikit-learn's learning_rate is the schedule; elsewhere it is usually the rate.
    "learning_rate": ("lr", "schedule"),
    "learning_rate_init": ("lr",),
    "hidden_layer_sizes": ("hidden",),
    "hidden_sizes": ("hidden",),
    "max_iter": ("epochs",),
    "n_epochs": ("epochs",),
    "num_epochs": ("epochs",),
    "random_state": ("seed",),
    "num_threads": ("threads",),
    "n_jobs": ("threads",),
    "alpha": ("weight_decay",),
    # Commands without --out write their files through these flags.
    "out": ("save", "json", "plot"),
    "output": ("out", "save", "json", "plot"),
}
"""Names that mlpbench spells differently, which a spelling match cannot find."""

NO_COUNTERPART: dict[str, str] = {
    "activation": "the hidden layers always use ReLU",
    "solver": "every engine trains with mini-batch SGD",
    "shuffle": "every epoch is shuffled",
    "nesterovs_momentum": "the momentum is plain, as in torch.optim.SGD by default",
    "early_stopping": "fit runs its epochs; fit(..., n_epochs=N) stops after N",
    "n_iter_no_change": "fit runs its epochs; fit(..., n_epochs=N) stops after N",
    "tol": "fit runs its epochs; fit(..., n_epochs=N) stops after N",
    "validation_fraction": "no validation rows are held out",
    "beta_1": "there is no Adam; every engine trains with SGD",
    "beta_2": "there is no Adam; every engine trains with SGD",
    "epsilon": "there is no Adam; every engine trains with SGD",
    "power_t": "the schedules are constant and cosine",
    "max_fun": "there is no L-BFGS; every engine trains with SGD",
}
"""Settings of scikit-learn's MLPClassifier that mlpbench lacks, with the reason."""


def suggest_names(name: str, valid: list[str], separator: str = "_") -> list[str]:
    """Return the names in ``valid`` that a mistyped or foreign setting ``name`` most likely means.

    ``separator`` is the one ``valid`` uses between words: ``_`` for Python
    parameters, ``-`` for flags and config keys. The list is empty when nothing is
    close or when the name is one that mlpbench lacks (see ``NO_COUNTERPART``).
    """
    plain = name.replace("-", "_").lower()
    if plain in NO_COUNTERPART:
        return []
    meant = _other_name_meanings(plain, valid, separator)
    if meant:
        return meant
    close = difflib.get_close_matches(plain.replace("_", separator), valid, n=1, cutoff=0.6)
    if close:
        return close
    # A misspelt foreign name, such as lerning_rate.
    foreign = difflib.get_close_matches(plain, list(OTHER_NAMES), n=1, cutoff=0.8)
    return _other_name_meanings(foreign[0], valid, separator) if foreign else []


def _other_name_meanings(plain: str, valid: list[str], separator: str) -> list[str]:
    """Return the names in ``valid`` that the foreign setting ``plain`` (see ``OTHER_NAMES``) means."""
    meant = [other.replace("_", separator) for other in OTHER_NAMES.get(plain, ())]
    return [other for other in meant if other in valid]


def name_hint(name: str, valid: list[str], separator: str = "_") -> str:
    """Return the end of a message about the unknown setting ``name``: a guess, a reason, or nothing.

    For example ``; did you mean 'lr' or 'schedule'?``, or ``; mlpbench has no such
    setting: every epoch is shuffled``.
    """
    reason = NO_COUNTERPART.get(name.replace("-", "_").lower())
    if reason is not None:
        return f"; mlpbench has no such setting: {reason}"
    meant = suggest_names(name, valid, separator)
    if not meant:
        return ""
    return "; did you mean " + " or ".join(repr(other) for other in meant) + "?"
