"""Files written whole or not at all, with the user's permissions, and no leftovers.

Every file the package writes is first written under a temporary name beside its target and
then renamed over it (``os.replace`` is atomic on one file system), so a reader never sees a
half-written file and a killed run leaves the old file in place.

Two details the obvious ``tempfile.mkstemp`` gets wrong:

* ``mkstemp`` creates the file with mode 0600 whatever the umask, and the rename keeps that
  mode: a report written that way cannot be read by the colleague it is for. The temporary
  file here is created with ``os.open(..., 0o666)``, which the umask trims as for any file.
* A process killed between creating the temporary file and renaming it leaves the temporary
  file behind. Its name carries the writer's process id (``.<target>.<pid>.<random>.part``):
  the next write to the same target removes the leftovers whose process is gone (never those
  of a writer still running).

This module sits in the lowest layer: the instance writers (``convert``) use it as well as the
result, design and nightly writers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PART = ".part"


def temp_name(target: Path) -> Path:
    """A fresh temporary name beside ``target`` that names this process."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{PART}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def leftovers(target: Path) -> list[Path]:
    """Temporary files or folders of ``target`` left by writers that are no longer running."""
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    found = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(PART)):
            continue
        middle = name[len(prefix):-len(PART)].split(".")
        if len(middle) != 2 or not middle[0].isdigit():
            continue
        if not _pid_alive(int(middle[0])):
            found.append(entry)
    return found


def sweep(target: Path) -> None:
    """Remove the leftovers of killed writers of ``target`` (see :func:`leftovers`)."""
    for entry in leftovers(target):
        _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def replacing(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``.

    The temporary file exists (empty, mode 0666 less the umask) when the body starts, so a
    writer that reopens it by name keeps those permissions. On an exception it is removed
    and ``target`` is left untouched.
    """
    path = Path(target)
    sweep(path)
    tmp = temp_name(path)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def replace_file(target: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Write ``target`` through ``write(temporary_path)`` and rename it into place."""
    with replacing(target) as tmp:
        write(tmp)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``target``."""
    return replace_file(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def staging_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target`` (mode 0777 less the umask), removed after.

    What to do with its content (move files into ``target`` or rename the folder) is the
    caller's; the folder is removed whatever happens.
    """
    path = Path(target)
    sweep(path)
    tmp = temp_name(path)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
