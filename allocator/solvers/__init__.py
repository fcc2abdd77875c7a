"""MIP backends. Each takes a :class:`allocator.model.MatrixModel` and returns a MatrixSolve.

Backends import their solver library lazily, inside the call: highspy and OR-Tools cannot live
in one process (their native libraries clash), so nothing is imported at package import time.
"""
