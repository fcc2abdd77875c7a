"""Uploaded files: kept under the server's data folder with a random name, size-limited.

The file name a browser sends is never used as a path: only its suffix is kept (and checked
against the kinds the page accepts), so an upload cannot write outside its folder.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

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
