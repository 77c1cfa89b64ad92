"""Exceptions that carry a message a user can act on."""


class MLPBenchError(Exception):
    """Base class for errors that the command line reports in one line, without a traceback."""


class TrainingDivergedError(MLPBenchError):
    """Training diverged; the message is the problem, then what to try.

    Raised for a batch loss that is not finite or far above that of guessing, and for
    parameters that became NaN or infinite.
    """

    def __init__(
        self,
        problem: str,
        fix: str = (
            "try a smaller learning rate (lr in Python, --lr on the command line), or inputs "
            "scaled to [0, 1] or standardized (standardize=True in Python, --standardize in train "
            "and compare)"
        ),
    ) -> None:
        # Both parts are exception arguments, so a pickled error (from a joblib worker) rebuilds.
        super().__init__(problem, fix)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.problem}; {self.fix}"


class ModelNotLearnedError(MLPBenchError):
    """A trained model learned nothing, so it was not saved over an earlier model."""


class CheckpointError(MLPBenchError):
    """A parameter file is missing, corrupt, or does not fit the model."""


class DataError(MLPBenchError, ValueError):
    """Input data is missing, malformed, or inconsistent.

    It is a ValueError too, as scikit-learn and NumPy raise for invalid input.
    """

    finding: str | None = None
    """The message without its advice, set where the advice fits only the file that failed."""


class DataTypeError(DataError, TypeError):
    """Input data contains a value that is not a number, such as text in an object array.

    It is a TypeError too, as NumPy and scikit-learn raise when a value cannot be
    converted to a number, and still a DataError and a ValueError.
    """


class OutputError(MLPBenchError):
    """An output file (a report, a plot, a CSV) cannot be written where the user asked."""


class InvalidArgumentError(MLPBenchError):
    """A missing or invalid command-line value, found before any training starts.

    The command line exits with status 2 for it, as for any other invalid flag.
    """


class OutputPathError(OutputError, InvalidArgumentError):
    """An output path that cannot be written, found before any work starts."""


class UnknownDatasetError(DataError, InvalidArgumentError):
    """A data set name that is empty, or neither a named data set nor an existing path."""


class InputNotFoundError(DataError, InvalidArgumentError, FileNotFoundError):
    """A data file, folder or input that the user named does not exist.

    It is a FileNotFoundError too, as Python raises for a missing file.
    """


class InputIsFolderError(DataError, InvalidArgumentError, IsADirectoryError):
    """An input that the user named is a folder where a file is expected; an IsADirectoryError too."""


class CheckpointNotFoundError(CheckpointError, InvalidArgumentError, FileNotFoundError):
    """A parameter file that the user named does not exist; a FileNotFoundError too."""
