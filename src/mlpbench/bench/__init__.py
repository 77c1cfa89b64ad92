"""Benchmark building blocks: matrix-multiply peak, FLOP counts, statistics, plots.

Import the submodules directly (``mlpbench.bench.flops`` and so on). This package
imports none of them, so that loading one does not pull in matplotlib or PyTorch.
"""
