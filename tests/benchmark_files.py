"""The published benchmark files the tests solve (``../shared/benchmarks/orlib`` beside the
checkout, or ``$ALLOCATOR_ORLIB``). They are part of the project: a missing file fails the
test that needs it, saying where it was looked for, rather than skipping it quietly."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.generate.orlib import orlib_dir


def orlib_file(name: str) -> Path:
    """The path of ``name`` inside the OR-Library folder; the test fails if it is missing."""
    path = orlib_dir() / name
    if not path.exists():
        pytest.fail(f"published benchmark file {path} is missing: put ../shared/benchmarks/orlib "
                    "beside the checkout or set ALLOCATOR_ORLIB", pytrace=False)
    return path
