"""The exact model of DESIGN.md sections 4-5 and its MIP backends (HiGHS, CBC, CP-SAT).

Backends import their solver library lazily, inside the call: highspy and OR-Tools cannot live
in one process (their native libraries clash), so nothing is imported at package import time.
"""
