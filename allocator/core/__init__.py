"""The core: the frozen problem, results, exact evaluation, the independent checker, reasons."""
