"""Exceptions that carry a message a user can act on."""


class MLPBenchError(Exception):
    """Base class for errors that the command line reports in one line, without a traceback."""


class TrainingDivergedError(MLPBenchError):
    """Training produced a non-finite loss."""


class CheckpointError(MLPBenchError):
    """A parameter file is missing, corrupt, or does not fit the model."""


class DataError(MLPBenchError):
    """Input data is missing, malformed, or inconsistent."""


class OutputError(MLPBenchError):
    """An output file (a report, a plot, a CSV) cannot be written where the user asked."""
