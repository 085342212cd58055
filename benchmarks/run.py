"""Run the benchmarks (``run.py P3 P4``; all when no id is given), save each as JSON, print the verdicts.

Exit status: 0 when every selected target passed, 1 when any was missed, 2 when none was missed but
something could not be measured yet. ``--readme`` prints the README's table from the saved results.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from harness import RESULTS, ROOT, NotAvailableError, Result, machine, missing

sys.path.insert(0, str(ROOT / "tests"))  # P7 builds its plugin venvs with the test suite's helpers

#: id -> (what it measures, its target, "module:function"); modules load only when their id runs.
MEASURES = {
    "P1": ("cold `cargohold flavor list`, against importing pydantic and pluggy", "<= 2x", "startup:p1"),
    "P2": ("modules imported by listing, describing and registering", "no heavy import", "startup:p2"),
    "P3": ("local store: small files written and read, against builtin open", "<= 1.3x", "local_files:p3"),
    "P4": ("local store: listdir, walk, glob, against os and glob", "<= 1.2x", "local_files:p4"),
    "P5": ("one 200 MB file through each store, against its raw fsspec filesystem", "<= 1.03x", "transfer:p5"),
    "P6": ("`cargohold fs cp -r` of 1000 small files into each cloud emulator", ">= 5x faster", "transfer:p6"),
    "P7": ("discovery with 200 plugin distributions, against 4", "<= 2x", "discovery:p7"),
    "P8": ("peak RSS of `cargohold fs cp` of a 1 GB file", "<= 150 MB, flat", "memory:p8"),
    "P9": ("what fsyncing each copy into a local store costs on a disk", "-", "durability:p9"),
    "R1": ("the registry under 8 x 50 mixed CLI chains", "0 errors, 400 rows", "registry:r1"),
    "R2": ("no lost update under 8 x 25 increments", "final 201", "registry:r2"),
    "R3": ("concurrent first fileio calls", "0 misrouted", "faults:r3"),
    "R4": ("deadlines against hung and closed servers", "<= deadline + 2 s", "faults:r4"),
    "P10": ("the viewer's first page of a 10,000-object folder, against the raw listing", "<= 1.5x", "viewer:p10"),
    "P11": ("peak RSS of `cargohold ui` streaming a 1 GB download", "<= 150 MB, flat", "viewer:p11"),
    "P12": ("the registry on PostgreSQL against SQLite: CLI listing, store resolution", "-", "teams:p12"),
    "P13": ("what sealing adds to resolving a store's secrets", "<= 1 ms per store", "teams:p13"),
    "P14": ("peak RSS of `cargohold fs cp -r` of 200,000 small files, listing streamed", "<= 300 MB", "listing:p14"),
}
COLUMNS = ("id", "measure", "ours", "baseline", "ratio", "target", "pass")


def measure(ident: str) -> Result:
    """Run one id; what it cannot measure yet becomes a 'not available yet' row, never a pass."""
    title, target, where = MEASURES[ident]
    module, _, function = where.partition(":")
    try:
        run: Callable[[], Result] = getattr(importlib.import_module(module), function)
        return run()
    except (NotAvailableError, ImportError) as exc:
        return Result(ident, title, "not run", [missing(title, target, str(exc))])


def rows(result: Result) -> list[tuple[str, ...]]:
    return [
        (
            result.id,
            f.measure,
            f.ours,
            f.baseline,
            "-" if f.ratio is None else f"{f.ratio:.2f}x",
            f.target,
            f.status + (f" ({f.note})" if f.note else ""),
        )
        for f in result.figures
    ]


def print_table(results: list[Result]) -> None:
    table = [COLUMNS, *(row for r in results for row in rows(r))]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def readme() -> str:
    """The README's Benchmarks table, from the saved results, with each id's date and machine."""
    results = [Result.load(RESULTS / f"{ident}.json") for ident in MEASURES if (RESULTS / f"{ident}.json").exists()]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for r in results for row in rows(r)]
    runs = sorted({(r.date[:10], _machine_line(r.machine)) for r in results})
    lines += ["", *(f"Measured {date} on {where}." for date, where in runs)]
    return "\n".join(lines)


def _machine_line(facts: dict[str, object]) -> str:
    return f"{facts['cpu']}, {facts['nproc']} cores, {facts['system']}, {facts['implementation']} {facts['python']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", metavar="ID", help=f"which to run: {', '.join(MEASURES)} (default: all)")
    parser.add_argument("--readme", action="store_true", help="print the README table from saved results and exit")
    args = parser.parse_args(argv)
    if args.readme:
        print(readme())
        return 0
    unknown = [i for i in args.ids if i.upper() not in MEASURES]
    if unknown:
        parser.error(f"unknown id {', '.join(unknown)}; choose from {', '.join(MEASURES)}")
    print("machine:", _machine_line(machine()), flush=True)
    results = []
    for ident in [i.upper() for i in args.ids] or list(MEASURES):
        print(f"{ident}: {MEASURES[ident][0]} ...", flush=True)
        result = measure(ident)
        result.save()
        results.append(result)
    print()
    print_table(results)
    statuses = {r.status for r in results}
    return 1 if "miss" in statuses else 2 if "not available yet" in statuses else 0


if __name__ == "__main__":
    sys.exit(main())
