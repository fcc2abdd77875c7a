"""``python -m allocator``: the same command line as the ``allocator`` console script."""

from allocator.cli import main

main()
