"""Load test of the web app: concurrent logged-in brokers paging a county night's suggestions
and accepting some, on SQLite and PostgreSQL, over loopback only.

One command (``python -m benchmarks.web_load``) does, for each backend - an SQLite file, and
PostgreSQL at ``--pg URL`` or ``$ALLOCATOR_TEST_PG_URL`` (``.ci/postgres.sh`` starts one):

1. a fresh book of the shipped Devon county (``instances/devon_personal_care.json``: 8 zones,
   11 providers, 47 people in care, 105 referrals), ``--brokers`` broker accounts, and the
   night's run (``run_nightly``, as ``allocator nightly``);
2. ``allocator serve`` on a free port of 127.0.0.1, in its own process (one process, as
   deployed);
3. ``--brokers`` brokers log in at once, each with its own session (timed apart: argon2 is
   slow on purpose); once all are logged in, they all at once page through every page of the
   night's suggestions (``--page-size`` rows a page), open ``--explanations`` explanations,
   accept one suggestion (each broker a different one; a refusal because the offer filled up
   meanwhile is an answer, not an error), then reload the open suggestions;
4. every request's time and status; an error is a status of 400 or more, or no answer.

The run is bounded: a fixed number of requests per broker, and ``--time-cap`` seconds in all
(past it, the brokers stop and the run says so). Writes ``benchmarks/results/web_load.json``
(all figures) and ``.md`` (the table): p50 and p95 page times per kind of request, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEVON = ROOT / "instances" / "devon_personal_care.json"
PASSWORD = "load test password 2026"
PG_ENV = "ALLOCATOR_TEST_PG_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_book(url: str, brokers: int) -> dict[str, Any]:
    """The Devon book, the broker accounts and the night's run; returns figures."""
    from allocator.instance.io import load_instance
    from allocator.nightly.run import NightlyOptions, run_nightly
    from allocator.store import migrate
    from allocator.store.book import import_instance
    from allocator.store.engine import make_engine, transaction
    from allocator.store.users import add_user

    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(engine) as session:
        import_instance(session, load_instance(DEVON))
        for i in range(brokers):
            add_user(session, f"broker{i:03d}", "broker", PASSWORD)
    t = time.perf_counter()
    outcome = run_nightly(engine, NightlyOptions(time_limit=60))
    figures = {"night": outcome.summary(), "night_s": round(time.perf_counter() - t, 2),
               "run_id": outcome.run_id, "suggestions": outcome.n_suggested + outcome.n_unmet}
    engine.dispose()
    return figures


def start_server(url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "allocator", "serve", "--db", url, "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(folder / "data")],
        env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "wb"))  # noqa: SIM115
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: see {folder / 'server.log'}") from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start within 60 s")


class Timings:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int]] = []  # (kind, seconds, status; 0 = no answer)
        self.errors: list[str] = []  # what went wrong when there was no answer
        self.retries = 0  # GETs sent again after a keep-alive connection closed under them

    def add(self, kind: str, seconds: float, status: int) -> None:
        self.rows.append((kind, seconds, status))


async def timed(client: Any, timings: Timings, kind: str, method: str, url: str,
                **kw: Any) -> Any:
    import httpx

    t = time.perf_counter()
    try:
        try:
            response = await client.request(method, url, **kw)
        except httpx.RemoteProtocolError:
            # The server closed an idle keep-alive connection as the request went out on it
            # (uvicorn closes them after 5 s); a browser sends a GET again on a new connection,
            # and so do we, once, counting it. Never a POST: it may have been received.
            if method != "GET":
                raise
            timings.retries += 1
            response = await client.request(method, url, **kw)
    except Exception as error:  # no answer (timeout, connection reset): an error
        timings.add(kind, time.perf_counter() - t, 0)
        timings.errors.append(f"{kind} {url}: {type(error).__name__}: {error}")
        return None
    timings.add(kind, time.perf_counter() - t, response.status_code)
    return response


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else ""


async def log_in(i: int, client: Any, timings: Timings) -> bool:
    page = await timed(client, timings, "login page", "GET", "/login")
    if page is None:
        return False
    login = await timed(client, timings, "log in", "POST", "/login", data={
        "username": f"broker{i:03d}", "password": PASSWORD, "csrf_token": _token(page.text)})
    return login is not None and login.status_code == 303


async def broker(i: int, client: Any, run_id: int, args: argparse.Namespace,
                 timings: Timings, stop_at: float) -> None:
    """One logged-in broker's round: every page, some explanations, one accept, a reload."""
    offset, needs, token = 0, [], ""
    while time.monotonic() < stop_at:
        response = await timed(client, timings, "suggestions page", "GET",
                               f"/night/runs/{run_id}?offset={offset}")
        if response is None or response.status_code != 200:
            return
        token = token or _token(response.text)
        needs += re.findall(r'name="need" value="([^"]+)"', response.text)
        if "next →" not in response.text:
            break
        offset += args.page_size
    for need in needs[i % max(1, len(needs)):][:args.explanations]:
        if time.monotonic() >= stop_at:
            return
        await timed(client, timings, "explanation", "GET", f"/night/runs/{run_id}/needs/{need}")
    if needs and time.monotonic() < stop_at:
        await timed(client, timings, "accept", "POST", f"/night/runs/{run_id}/decide",
                    data={"csrf_token": token, "need": needs[i % len(needs)],
                          "decision": "accept", "back": f"/night/runs/{run_id}"})
        await timed(client, timings, "suggestions page", "GET",
                    f"/night/runs/{run_id}?decided=open")


async def everyone(base: str, run_id: int, args: argparse.Namespace, logins: Timings,
                   timings: Timings, stop_at: float) -> tuple[int, float]:
    """All brokers log in at once; once they all are, they work at once. Returns the
    brokers logged in and the seconds of the working phase."""
    import httpx

    clients = [httpx.AsyncClient(base_url=base, timeout=120.0) for _ in range(args.brokers)]
    try:
        ok = await asyncio.gather(*(log_in(i, c, logins) for i, c in enumerate(clients)))
        t = time.perf_counter()
        await asyncio.gather(*(broker(i, c, run_id, args, timings, stop_at)
                               for i, c in enumerate(clients) if ok[i]))
        return sum(ok), time.perf_counter() - t
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def summarise(timings: Timings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kinds = sorted({k for k, _, _ in timings.rows})
    for kind in [*kinds, "all"]:
        rows = [r for r in timings.rows if kind == "all" or r[0] == kind]
        seconds = sorted(s for _, s, _ in rows)
        out[kind] = {
            "requests": len(rows),
            "p50_ms": round(1000 * statistics.median(seconds), 1) if seconds else None,
            "p95_ms": round(1000 * seconds[min(len(seconds) - 1,
                                               int(0.95 * len(seconds)))], 1)
            if seconds else None,
            "max_ms": round(1000 * seconds[-1], 1) if seconds else None,
            "errors": sum(1 for _, _, status in rows if status == 0 or status >= 400),
        }
    return out


def on_backend(name: str, url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from allocator.store import models as m
    from allocator.store.engine import make_engine, transaction

    figures: dict[str, Any] = {"backend": name}
    figures.update(make_book(url, args.brokers))
    proc, base = start_server(url, folder)
    logins, timings = Timings(), Timings()
    try:
        t = time.perf_counter()
        stop_at = time.monotonic() + args.time_cap
        logged_in, work_s = asyncio.run(everyone(base, figures["run_id"], args, logins,
                                                 timings, stop_at))
        figures["wall_s"] = round(time.perf_counter() - t, 2)
        figures["working_s"] = round(work_s, 2)
        figures["logged_in"] = logged_in
        figures["capped"] = time.monotonic() >= stop_at
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    engine = make_engine(url)
    with transaction(engine) as session:
        figures["accepted"] = session.query(m.Decision).filter_by(decision="accept").count()
        figures["audit_entries"] = session.query(m.AuditEntry).count()
    engine.dispose()
    figures["get_retries"] = logins.retries + timings.retries
    figures["login_timings"] = summarise(logins)
    figures["timings"] = summarise(timings)
    failures = [f"{kind}: status {status}" for kind, _, status in logins.rows + timings.rows
                if status >= 400] + logins.errors + timings.errors
    if failures:  # say what went wrong, from both sides
        figures["failures"] = failures
        log = (folder / "server.log").read_text(errors="replace").splitlines()
        figures["server_log_tail"] = log[-60:]
        print("\n".join(failures + log[-60:]), file=sys.stderr)
    return figures


def pg_database(server: str) -> tuple[str, Any]:
    """A new database on the PostgreSQL server, and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from allocator.store.engine import resolve_url

    base = make_url(resolve_url(server))
    name = f"web_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def markdown(doc: dict[str, Any]) -> str:
    lines = [f"# Web app load test ({doc['date']})", "",
             f"`{doc['command']}` on {doc['machine']}. {doc['brokers']} brokers at once, each"
             f" logged in with its own session: every page of the night's suggestions"
             f" ({doc['page_size']} a page), {doc['explanations']} explanations, one accept,"
             " the open suggestions again. Server: `allocator serve` (one process) on"
             " 127.0.0.1; client: httpx, same machine.", ""]
    for b in doc["backends"]:
        lines += [f"## {b['backend']}", "",
                  f"Night: {b['night']}. {b['logged_in']} brokers logged in, then worked at"
                  f" once for {b['working_s']} s ({b['wall_s']} s in all)"
                  f"{' - time cap reached' if b['capped'] else ''}; {b['accepted']} accepted;"
                  f" {b['audit_entries']} audit entries; {b['get_retries']} GET(s) sent again"
                  " after the server closed an idle keep-alive connection under them.", "",
                  "Logged-in brokers at work:", "",
                  "| request | count | p50 ms | p95 ms | max ms | errors |",
                  "|---|---:|---:|---:|---:|---:|"]
        for kind, t in b["timings"].items():
            lines.append(f"| {kind} | {t['requests']} | {t['p50_ms']} | {t['p95_ms']} |"
                         f" {t['max_ms']} | {t['errors']} |")
        lines += ["", f"The {doc['brokers']} logins before, all at once (argon2 verification on"
                  " a pool of 2 threads, so they queue):", "",
                  "| request | count | p50 ms | p95 ms | max ms | errors |",
                  "|---|---:|---:|---:|---:|---:|"]
        for kind, t in b["login_timings"].items():
            lines.append(f"| {kind} | {t['requests']} | {t['p50_ms']} | {t['p95_ms']} |"
                         f" {t['max_ms']} | {t['errors']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brokers", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=50, help="as the app's default")
    parser.add_argument("--explanations", type=int, default=2)
    parser.add_argument("--time-cap", type=float, default=300.0, help="seconds per backend")
    parser.add_argument("--pg", default=os.environ.get(PG_ENV), help="PostgreSQL server URL")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    doc: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python -m benchmarks.web_load " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python"
                   f" {platform.python_version()}",
        "brokers": args.brokers, "page_size": args.page_size,
        "explanations": args.explanations, "backends": []}
    failed = False
    with tempfile.TemporaryDirectory(prefix="web_load_") as tmp:
        folder = Path(tmp)
        for name in wanted:
            if name == "sqlite":
                figures = on_backend(name, f"sqlite:///{folder / 'book.db'}", args, folder)
            elif name == "postgresql":
                if not args.pg:
                    print(f"postgresql skipped: no --pg and no ${PG_ENV}", file=sys.stderr)
                    doc["backends"].append({"backend": name, "skipped": "no server given"})
                    failed = True
                    continue
                url, drop = pg_database(args.pg)
                try:
                    figures = on_backend(name, url, args, folder)
                finally:
                    drop()
            else:
                parser.error(f"unknown backend {name}")
            doc["backends"].append(figures)
            all_ = figures["timings"]["all"]
            errors = all_["errors"] + figures["login_timings"]["all"]["errors"]
            print(f"{name}: {all_['requests']} requests of logged-in brokers, p50"
                  f" {all_['p50_ms']} ms, p95 {all_['p95_ms']} ms; {errors} errors;"
                  f" {figures['wall_s']} s")
            failed |= errors > 0 or figures["logged_in"] < args.brokers
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web_load.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    ran = [b for b in doc["backends"] if "timings" in b]
    (RESULTS / "web_load.md").write_text(markdown({**doc, "backends": ran}) + "\n",
                                         encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
