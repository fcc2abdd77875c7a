"""Builders for the hostile-input catalogue: each case's ``setup`` turns into files on disk.

A case (``catalogue/*.json``) names a setup kind and its parameters; :func:`build` makes the
files in a fresh folder and returns the placeholders its command line uses (``{input}``,
``{db}``, ``{market}``, ``{result}``, ``{referrals}``, ``{out}``, ``{tmp}``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
MARKET = DATA / "small_market.json"
REFERRALS = ("id,kind,zone,service,complexity,care_group,quantity,priority\n"
             "r1,package,z1,personal_care,less_complex,OP,6,standard\n")


def market() -> dict[str, Any]:
    return json.loads(MARKET.read_text())


def edit(document: Any, edits: list[list[Any]]) -> Any:
    """Apply ``["set", "a/0/b", value]`` and ``["del", "a/0/b"]`` edits (slash paths)."""
    doc = copy.deepcopy(document)
    for op, path, *value in edits:
        keys = [int(k) if k.isdigit() else k for k in path.split("/")]
        parent = doc
        for key in keys[:-1]:
            parent = parent[key]
        if op == "set":
            parent[keys[-1]] = value[0]
        elif op == "del":
            del parent[keys[-1]]
        else:  # pragma: no cover - a typo in the catalogue
            raise ValueError(op)
    return doc


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def build(setup: dict[str, Any], tmp: Path, shared: dict[str, Path]) -> dict[str, str]:
    """Make the files of one case; returns the placeholders."""
    kind = setup["kind"]
    names: dict[str, str] = {"tmp": str(tmp), "out": str(tmp / "out"),
                             "market": str(tmp / "market.json")}
    shutil.copy(MARKET, tmp / "market.json")
    target = tmp / setup.get("name", "input.json")
    names["input"] = str(target)
    if kind == "json":
        doc = edit(market(), setup.get("edits", []))
        text = json.dumps(doc)
        for old, new in setup.get("replace", []):  # raw text edits (NaN, 1e400, ...)
            assert old in text, old
            text = text.replace(old, new, 1)
        target.write_text(text)
    elif kind == "text":
        target.write_text(setup["text"])
    elif kind == "nested":
        text = json.dumps(market())
        if "field" in setup:  # deep inside one field of an otherwise good market
            text = text.replace('"zone": "z1"', f'"zone": {nested(setup["depth"])}', 1)
        else:
            text = nested(setup["depth"])
        target.write_text(text)
    elif kind == "bytes":
        target.write_bytes(bytes.fromhex(setup["hex"]))
    elif kind == "csv":
        from allocator.instance.io import load_instance, save_instance

        save_instance(load_instance(MARKET), target)
        for file, old, new in setup.get("replace_bytes", []):
            path = target / file
            data = path.read_bytes()
            old_b, new_b = old.encode("latin-1"), new.encode("latin-1")
            assert old_b in data, (file, old)
            path.write_bytes(data.replace(old_b, new_b, 1))
        for file in setup.get("remove", []):
            (target / file).unlink()
    elif kind == "xlsx":
        from openpyxl import load_workbook

        from allocator.instance.io import load_instance, save_instance

        save_instance(load_instance(MARKET), target)
        workbook = load_workbook(target)
        for change in setup.get("cells", []):
            workbook[change["sheet"]][change["cell"]] = change["value"]  # "=..." is a formula
        for sheet in setup.get("remove_sheets", []):
            del workbook[sheet]
        workbook.save(target)
    elif kind == "raw_file":
        target.write_text(setup.get("text", ""))
    elif kind == "symlink_loop":
        a, b = tmp / "loop_a.json", tmp / "loop_b.json"
        os.symlink(b, a)
        os.symlink(a, b)
        names["input"] = str(a)
    elif kind == "broken_symlink":
        os.symlink(tmp / "gone.json", target)
    elif kind == "missing":
        pass
    elif kind == "folder":
        target.mkdir()
    elif kind == "book":
        names.update(book(setup, tmp, shared))
    elif kind == "result":
        doc = edit(json.loads(shared["result"].read_text()), setup.get("edits", []))
        text = json.dumps(doc)
        for old, new in setup.get("replace", []):
            assert old in text, old
            text = text.replace(old, new, 1)
        (tmp / "result.json").write_text(text)
        names["result"] = str(tmp / "result.json")
    else:  # pragma: no cover - a typo in the catalogue
        raise ValueError(kind)
    return names


def book(setup: dict[str, Any], tmp: Path, shared: dict[str, Path]) -> dict[str, str]:
    """A book file in one of several states (good, damaged in various ways, missing)."""
    state = setup["state"]
    path = tmp / "book.db"
    (tmp / "referrals.csv").write_text(REFERRALS)
    out = {"db": f"sqlite:///{path}", "dbfile": str(path), "referrals": str(tmp / "referrals.csv")}
    good = shared["book"].read_bytes()
    if state == "good":
        path.write_bytes(good)
    elif state == "junk":
        path.write_bytes(bytes(range(256)) * 20)
    elif state == "text":
        path.write_text("this is not a database\n" * 50)
    elif state == "truncated":
        path.write_bytes(good[:1500])
    elif state == "header_only":
        path.write_bytes(good[:100])
    elif state == "pages":  # b-tree pages overwritten: reads fail
        data = bytearray(good)
        size = int.from_bytes(data[16:18], "big")
        for page in range(5, len(data) // size, 3):
            data[page * size: page * size + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"
        path.write_bytes(bytes(data))
    elif state == "freelist":  # reads work; only an integrity check sees it
        data = bytearray(good)
        data[36:40] = (7).to_bytes(4, "big")
        path.write_bytes(bytes(data))
    elif state == "empty_sqlite":
        import sqlite3

        sqlite3.connect(path).close()
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE other (x)")
        conn.commit()
        conn.close()
    elif state == "folder":
        path.mkdir()
    elif state == "none":
        pass
    else:  # pragma: no cover
        raise ValueError(state)
    return out
