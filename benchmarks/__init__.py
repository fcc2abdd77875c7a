"""Benchmark harness (issue 4): named instances, every solver, one command.

``python -m benchmarks run --suite quick|full`` runs a registry of named instances
(:mod:`.registry`) against the solvers, each solve in its own child process
(:mod:`.runner`), and writes ``benchmarks/results/<suite>.csv``, ``.md`` and a gap-over-time
plot (:mod:`.report`). ``benchmarks/README.md`` lists every command and what it writes.

Benchmarks are kept apart from the tests (``testpaths = ["tests"]``); the quick suite also runs
as a smoke test in ``tests/test_benchmarks.py``, asserting correctness, never speed.
"""
