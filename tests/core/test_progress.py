"""Live progress (allocator.core.progress): listeners, and solves nested in another muted."""

from __future__ import annotations

import threading

from allocator.core import progress


def test_muted_blocks_reports_in_its_block_and_thread_only():
    seen: list[progress.Progress] = []
    with progress.listening(seen.append):
        progress.report(1.0, 10.0, 5.0, "outer")
        assert progress.active()
        with progress.muted():
            assert not progress.active()
            progress.report(2.0, 9.0, 6.0, "inner")
            with progress.muted():  # nested
                progress.report(2.5, 9.0, 6.0, "inner")
            progress.report(2.6, 9.0, 6.0, "inner")  # still muted after the nested block
            other = threading.Thread(target=progress.report, args=(3.0, 8.0, 7.0, "thread"))
            other.start()
            other.join()
        progress.report(4.0, 7.0, 7.0, "outer")
    assert [e.source for e in seen] == ["outer", "thread", "outer"]


def test_muted_as_a_decorator_and_through_an_exception():
    seen: list[progress.Progress] = []

    @progress.muted()
    def inner(fail: bool) -> None:
        progress.report(1.0, 1.0, None, "inner")
        if fail:
            raise ValueError("boom")

    with progress.listening(seen.append):
        inner(False)
        try:
            inner(True)
        except ValueError:
            pass
        progress.report(2.0, 1.0, None, "outer")
    assert [e.source for e in seen] == ["outer"]


def test_the_log_line_shows_where_the_solve_ended():
    """Into a log (not a terminal), one line per LOG_EVERY_S; the last improvement is printed
    at the end even when it came sooner after the line before (the log read "best
    £128,081" while the solve had ended at £126,953)."""
    import io

    from rich.console import Console

    from allocator.cli.live import live_progress

    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with live_progress("solving x", show=True, console=console):
        progress.report(0.3, 130.0, None, "portfolio")
        progress.report(3.7, 128.0, 120.0, "portfolio")
        progress.report(9.7, 126.95, 126.45, "portfolio")
    lines = out.getvalue().splitlines()
    assert lines[0] == "solving x ..."
    assert len(lines) == 3, lines
    assert "£130.00" in lines[1] and "£126.95" in lines[2] and "bound £126.45" in lines[2]
    assert "£128.00" not in out.getvalue()
