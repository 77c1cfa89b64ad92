"""The README's gradient check, run as a user would copy it."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _lab_code() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Studying the textbook path", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the section has no Python block"
    return match.group(1)


def test_readme_gradient_check_agrees() -> None:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(_lab_code(), str(README), "exec"), {})

    match = re.fullmatch(r"largest difference: (\S+)\n", output.getvalue())
    assert match is not None, output.getvalue()
    assert float(match.group(1)) < 1e-7
