"""Training engines. Each one implements the estimator API of ``engines.base.MLPEstimator``."""
