"""P10 and P11: the viewer's first page of a 10,000-object folder, and its memory while it streams a 1 GB file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from clouds import place, register
from harness import Figure, NotAvailableError, Result, alternate, missing, quiet_env, scratch, script, slower_by
from memory import GROWTH, LAUNCHER, MB, SIZES, TARGET, flat_peak, source_files

OBJECTS = 10_000
P10_ROUNDS = 7
TOKEN = "bench-token-" + "0" * 20


def _viewer_modules() -> None:
    try:
        import httpx2  # noqa: F401

        import cargohold_ui.app  # noqa: F401
    except ImportError as exc:
        raise NotAvailableError(f"the viewer or its client is not installed: {exc}") from exc


def _p10_figure(flavor: str, workdir: Path) -> Figure:
    measure = f"{flavor}: the viewer's first page of a folder of {OBJECTS} objects, against the raw listing"
    try:
        _viewer_modules()
        from starlette.testclient import TestClient

        from cargohold_ui.app import create_app

        with place(flavor, workdir, "p10") as where:
            home = workdir / f"home-{flavor}"
            register(quiet_env(home), "bench", where)
            folder = f"{where.raw_root}/many"
            where.raw.makedirs(folder, exist_ok=True)
            where.raw.pipe({f"{folder}/{n:05d}.bin": b"x" for n in range(OBJECTS)})
            client = TestClient(create_app(TOKEN, home))
            client.get(f"/?token={TOKEN}")

            def ours() -> float:
                start = time.perf_counter()
                page = client.get("/s/bench/many/")
                elapsed = time.perf_counter() - start
                if page.status_code != 200 or f"of {OBJECTS}" not in page.text:
                    raise RuntimeError(f"the viewer answered {page.status_code}: {page.text[:300]}")
                return elapsed

            def baseline() -> float:
                start = time.perf_counter()
                listed = where.raw.ls(folder, detail=True, refresh=True)
                elapsed = time.perf_counter() - start
                assert len(listed) == OBJECTS
                return elapsed

            ours()  # builds the store and warms the connection pool, as the start page does for a user
            paired = alternate(ours, baseline, P10_ROUNDS)
    except NotAvailableError as exc:
        return missing(measure, "<= 1.5x", str(exc))
    return slower_by(measure, paired.ours_median, paired.baseline_median, paired.ratio, at_most=1.5)


def p10() -> Result:
    with scratch("p10") as workdir:
        figures = [_p10_figure(flavor, workdir) for flavor in ("local", "s3")]
    return Result(
        "P10",
        f"the viewer's first page of a folder of {OBJECTS} objects, against the raw filesystem's listing",
        "wall time of GET /s/NAME/folder/ through Starlette's TestClient (the whole request: auth, the store's "
        "listing with details, the page of 200 rendered) against the raw fsspec ls(detail=True, refresh=True) "
        f"of the same folder; s3 on moto; {P10_ROUNDS} alternating rounds after one warm-up; "
        "ratio = median of per-round ratios",
        figures,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _download_peak(env: dict[str, str], name: str) -> int:
    """Peak RSS of a ``cargohold ui`` process that streamed ``bench:name`` to one client, then stopped."""
    import httpx2

    port = _free_port()
    argv = [script("cargohold"), "ui", "--port", str(port), "--token", TOKEN]
    launched = [sys.executable, "-c", LAUNCHER, *argv]
    server = subprocess.Popen(launched, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(600):  # the URL goes to /dev/null under the launcher: wait for the port instead
                try:
                    client.get(f"/?token={TOKEN}")
                    break
                except httpx2.TransportError:
                    time.sleep(0.05)
            received = 0
            with client.stream("GET", f"/raw/bench/{name}") as response:
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    received += len(chunk)
    finally:
        # Stop the viewer, not the launcher, which then reports the viewer's peak (Linux lists a process's children).
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    if not out.strip():
        raise RuntimeError(f"the viewer under the launcher reported nothing (exit {server.returncode})")
    return int(out.split()[-1]) * 1024


def _p11_figure(flavor: str, workdir: Path, sources: dict[int, Path]) -> Figure:
    measure = f"{flavor}: peak RSS of `cargohold ui` streaming a {SIZES[-1] // MB} MB download"
    try:
        _viewer_modules()
        with place(flavor, workdir, "p11") as where:
            env = quiet_env(workdir / f"home-{flavor}")
            register(env, "bench", where)
            peaks = {}
            for size, source in sources.items():
                where.raw.makedirs(where.raw_root, exist_ok=True)
                where.raw.put_file(str(source), f"{where.raw_root}/{size}.bin")
                peaks[size] = _download_peak(env, f"{size}.bin")
                where.clear()
    except NotAvailableError as exc:
        return missing(measure, TARGET, str(exc))
    return flat_peak(measure, peaks)


def p11() -> Result:
    with scratch("p11") as workdir:
        sources = source_files(workdir)
        figures = [_p11_figure(flavor, workdir, sources) for flavor in ("local", "s3")]
    return Result(
        "P11",
        f"peak RSS of `cargohold ui` streaming a {SIZES[-1] // MB} MB download, and a {SIZES[0] // MB} MB one",
        "ru_maxrss of the viewer process (wait4 in P8's launcher) from start to stop, one client streaming "
        f"/raw/ of the file in full; s3 on moto; flat = grows by at most {GROWTH // MB} MB from the smaller file; "
        "ratio = large over small",
        figures,
    )
