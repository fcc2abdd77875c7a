"""Uploaded files: kept under the server's data folder with a random name, size-limited.

The file name a browser sends is never used as a path: only its suffix is kept (and checked
against the kinds the page accepts), so an upload cannot write outside its folder.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request, UploadFile

if TYPE_CHECKING:
    from allocator.instance.schema import Instance

CHUNK = 64 * 1024
MARKET_SUFFIXES = (".json", ".xlsx")  # a market the pages accept: JSON or a workbook
BOOK_MARKET = "the book's market"  # how a page names the market read from the book


class UploadRefused(ValueError):
    """The upload is missing, of the wrong kind or too large; the message says which."""


@dataclass(frozen=True)
class Saved:
    path: Path
    name: str  # as the user named it (for messages only)
    sha256: str
    size: int


async def save(upload: UploadFile | None, folder: Path, suffixes: tuple[str, ...],
               limit: int, what: str) -> Saved:
    """Write ``upload`` to a new file in ``folder``; refuse other suffixes and big files."""
    if upload is None or not upload.filename:
        raise UploadRefused(f"choose a {what} file to upload")
    name = Path(upload.filename).name
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise UploadRefused(f"{name}: a {what} file must be {' or '.join(suffixes)}")
    target_dir = folder / secrets.token_hex(8)
    target_dir.mkdir(parents=True, exist_ok=False)
    target = target_dir / f"upload{suffix}"
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                target_dir.rmdir()
                raise UploadRefused(f"{name}: larger than the limit of"
                                    f" {limit / 1_048_576:.3g} MB")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise UploadRefused(f"{name}: the file is empty")
    return Saved(path=target, name=name, sha256=digest.hexdigest(), size=size)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class MarketRefused(ValueError):
    """A commissioner's market could not be read: ``problems`` name the upload as the user
    named it (never the server's path), or the book's market."""

    def __init__(self, name: str, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]))
        self.name = name
        self.problems = problems


async def read_market(request: Request, upload: UploadFile | None,
                      folder: Path) -> tuple[Instance, Saved | None]:
    """The market a commissioner's form names: the upload when one was chosen (kept under
    ``folder``, for the job to read), else the book's market (with its people in care).

    A refusal, of the file or of what it holds, raises :class:`MarketRefused` with at most 50
    problems, the upload's path in them replaced by its name; nothing of a refused upload is
    kept. The caller deletes a kept upload (``Saved.path.parent``) if it refuses the form for
    another reason."""
    from allocator.instance.errors import InstanceError
    from allocator.instance.io import load_instance
    from allocator.store.book import export_instance
    from allocator.store.engine import transaction
    from allocator.web.pages import reader_of

    saved: Saved | None = None
    name = BOOK_MARKET
    try:
        if upload is not None and upload.filename:
            saved = await save(upload, folder, MARKET_SUFFIXES,
                               request.app.state.settings.max_upload_bytes, "market")
            name = saved.name
            return load_instance(saved.path), saved
        with transaction(reader_of(request)) as session:
            return export_instance(session), None
    except UploadRefused as error:
        raise MarketRefused(name, [str(error)]) from None
    except InstanceError as error:
        where = str(saved.path) if saved else ""
        if saved is not None:
            shutil.rmtree(saved.path.parent, ignore_errors=True)
        raise MarketRefused(name, [str(p).replace(where, name) if where else str(p)
                                   for p in error.problems[:50]]) from None
