"""Results a broker can act on: the tables of DESIGN.md section 6 and their writers.

One report per module: :mod:`.usage` (how a solution uses the market), :mod:`.tables` (the
tables as DataFrames), :mod:`.files` (``result.json``, CSV, XLSX), :mod:`.html` (a
self-contained HTML report) and :mod:`.summary` (the printed summary).
"""
