"""Run the command-line interface as ``python -m mlpbench``."""

from mlpbench.cli import main

raise SystemExit(main())
