"""Measure mldebt against the floor of libcst's own parse, in one run, as ratios.

Usage::

    python benchmarks/bench.py /path/to/python/files [--limit 300] [--jobs 2] [--peer ruff]

The script copies the (sampled) ``.py`` files into a temporary folder — the corpus itself is
never touched — and then measures, on that copy:

* **parse**: ``libcst.parse_module`` on every file, in this process (CPU time only: the floor);
* **cold**: ``python -m mldebt check COPY --format json`` with a fresh cache folder;
* **warm**: the same command again, nothing changed;
* **one changed**: the same command after appending a comment to one file.

Each mldebt phase runs as a child process; its CPU time (user + system, worker processes
included) and peak resident memory come from ``os.wait4``, the same accounting as
``getrusage(RUSAGE_CHILDREN)``. Absolute times depend on the machine; the ratios are what the
targets are stated in (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The targets of the Foundation issue (docs/performance.md).
COLD_CPU_PER_PARSE = 2.5
WARM_WALL_PER_COLD = 0.05
CHANGED_WALL_PER_COLD = 0.10

_SKIP_DIRS = {".git", ".mldebt_cache", "__pycache__", ".venv", "venv", "node_modules"}


@dataclass
class Phase:
    name: str
    wall: float
    cpu: float
    peak_rss_mb: float | None
    exit_code: int = 0


def python_files(folder: Path) -> list[Path]:
    """Every ``.py`` file under ``folder``, relative and sorted (a stable sampling order)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in filenames:
            path = Path(dirpath, name)
            if name.endswith(".py") and path.is_file() and not path.is_symlink():
                found.append(path.relative_to(folder))
    return sorted(found, key=lambda p: p.as_posix())


def sample(files: Sequence[Path], limit: int | None) -> list[Path]:
    """Every k-th file, deterministically, so that at most ``limit`` remain."""
    if not limit or limit >= len(files):
        return list(files)
    step = -(-len(files) // limit)  # ceiling division
    return list(files[::step])[:limit]


def copy_tree(source: Path, files: Sequence[Path], target: Path) -> None:
    for rel in files:
        destination = target / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, destination)
    # Pin the analysed root (and so the cache folder) to the copy, whatever lies above it.
    (target / "mldebt.toml").write_text("# benchmark copy\n", encoding="utf-8")


_PARSE_ONLY = """
import json, sys, time
from pathlib import Path
import libcst

folder = Path(sys.argv[1])
sources = [(folder / rel).read_bytes() for rel in sys.stdin.read().splitlines()]
failures = 0
wall, cpu = time.perf_counter(), time.process_time()
for data in sources:
    try:
        libcst.parse_module(data)
    except Exception:  # a file libcst rejects costs what it cost to find out
        failures += 1
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"cpu": cpu, "wall": wall, "failures": failures}))
"""


def parse_only(folder: Path, files: Sequence[Path]) -> tuple[Phase, int]:
    """``libcst.parse_module`` over ``files``, timed inside a child around the loop only
    (interpreter start-up, imports and file reading excluded); and libcst's rejections.

    A child, not this process: a forked child's peak RSS starts at its parent's, so the
    parent must stay small for the mldebt phases' peak memory to mean anything.
    """
    listing = "\n".join(rel.as_posix() for rel in files)
    process = subprocess.run(
        [sys.executable, "-c", _PARSE_ONLY, str(folder)],
        input=listing,
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(process.stdout)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    phase = Phase("libcst parse only", figures["wall"], figures["cpu"], _megabytes(usage.ru_maxrss))
    return phase, int(figures["failures"])


def _megabytes(maxrss: int) -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    return maxrss / 1024 / 1024 if sys.platform == "darwin" else maxrss / 1024


def child_environment() -> dict[str, str]:
    """The environment of the measured commands: this one, with bytecode caching on as in a
    normal installation (otherwise every run would compile mldebt's modules afresh)."""
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def run_child(name: str, command: Sequence[str], cwd: Path | None = None) -> Phase:
    """Run ``command`` and account for it and all its descendants that it waited for."""
    wall = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=child_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()  # interrupted: leave nothing running
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - wall
    if process.returncode not in (0, 1):
        sys.stderr.write(f"{name}: {' '.join(command)} exited {process.returncode}\n{errors}\n")
    cpu = usage.ru_utime + usage.ru_stime
    return Phase(name, elapsed, cpu, _megabytes(usage.ru_maxrss), process.returncode)


def mldebt_command(copy: Path, report: Path, jobs: int, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mldebt",
        "check",
        str(copy),
        "--format",
        "json",
        "-o",
        str(report),
        "--jobs",
        str(jobs),
        "--select",
        "ALL",
        "--preview",
        "--quiet",
        *extra,
    ]


def repeated(name: str, command: Sequence[str], times: int) -> Phase:
    """The run with the median wall time among ``times`` runs (short phases are noisy)."""
    runs = sorted((run_child(name, command) for _ in range(max(times, 1))), key=lambda p: p.wall)
    return runs[len(runs) // 2]


def peer_phase(peer: str, copy: Path) -> Phase | None:
    if peer == "ruff":
        executable = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
        if not Path(executable).exists():
            return None
        return run_child(
            "ruff check (all rules, no cache)",
            [executable, "check", "--no-cache", "--select", "ALL", "--exit-zero", "-q", str(copy)],
        )
    if peer == "pylint":
        if importlib.util.find_spec("pylint") is None:
            return None
        return run_child(
            "pylint (defaults)",
            [sys.executable, "-m", "pylint", "--exit-zero", "-sn", "--recursive=y", str(copy)],
        )
    raise SystemExit(f"unknown peer {peer!r}: ruff or pylint")


def table(parse: Phase, phases: list[Phase], cold: Phase) -> str:
    rows = [
        "| phase | wall s | CPU s | CPU / parse CPU | wall / cold wall | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in [parse, *phases]:
        rss = f"{phase.peak_rss_mb:.0f}" if phase.peak_rss_mb is not None else ""
        share = f"{phase.wall / cold.wall:.1%}" if phase is not parse else ""
        rows.append(
            f"| {phase.name} | {phase.wall:.2f} | {phase.cpu:.2f} "
            f"| {phase.cpu / parse.cpu:.2f} | {share} | {rss} |"
        )
    return "\n".join(rows)


def verdicts(parse: Phase, cold: Phase, warm: Phase, changed: Phase) -> list[str]:
    checks = [
        ("cold CPU / parse CPU", cold.cpu / parse.cpu, COLD_CPU_PER_PARSE, "{:.2f}x"),
        ("warm wall / cold wall", warm.wall / cold.wall, WARM_WALL_PER_COLD, "{:.1%}"),
        ("one changed wall / cold wall", changed.wall / cold.wall, CHANGED_WALL_PER_COLD, "{:.1%}"),
    ]
    return [
        f"- {label}: {fmt.format(value)} (target <= {fmt.format(limit)}) "
        f"{'PASS' if value <= limit else 'FAIL'}"
        for label, value, limit, fmt in checks
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder of Python files (never modified)")
    parser.add_argument("--limit", type=int, default=None, help="sample every k-th file, N at most")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="mldebt --jobs (default: CPUs)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the warm phases; the median is kept"
    )
    parser.add_argument("--peer", action="append", default=[], help="also time ruff or pylint")
    parser.add_argument(
        "--mldebt-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG on to mldebt check (repeat; e.g. --mldebt-arg=--ignore=MLD211)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)

    folder: Path = args.folder.resolve()
    if not folder.is_dir():
        parser.error(f"{folder} is not a folder")
    files = sample(python_files(folder), args.limit)
    if not files:
        parser.error(f"no .py files under {folder}")

    work = Path(tempfile.mkdtemp(prefix="mldebt-bench-"))
    try:
        copy = work / "tree"
        copy_tree(folder, files, copy)
        report = work / "report.json"
        command = mldebt_command(copy, report, args.jobs, args.mldebt_arg)

        print(f"{len(files)} files from {folder} (jobs={args.jobs})", file=sys.stderr)
        print(f"command: {' '.join(command)}", file=sys.stderr)
        parse, failures = parse_only(copy, files)
        parse.name = f"libcst parse only ({len(files)} files)"
        print(f"parse only: {parse.cpu:.2f} s CPU", file=sys.stderr)

        shutil.rmtree(copy / ".mldebt_cache", ignore_errors=True)
        cold = run_child("mldebt cold (fresh cache)", command)
        print(f"cold: {cold.wall:.2f} s wall, {cold.cpu:.2f} s CPU", file=sys.stderr)
        findings = _count_findings(report)
        warm = repeated("mldebt warm (nothing changed)", command, args.repeat)

        touched = copy / files[len(files) // 2]
        changed_runs = []
        for n in range(max(args.repeat, 1)):
            with touched.open("a", encoding="utf-8") as handle:
                handle.write(f"\n# touched by the benchmark ({n})\n")
            changed_runs.append(run_child("mldebt after one file changed", command))
        changed = sorted(changed_runs, key=lambda p: p.wall)[len(changed_runs) // 2]

        phases = [cold, warm, changed]
        for peer in args.peer:
            measured = peer_phase(peer, copy)
            if measured is None:
                print(f"{peer} is not installed; skipped", file=sys.stderr)
            else:
                phases.append(measured)

        print(table(parse, phases, cold))
        print()
        print("\n".join(verdicts(parse, cold, warm, changed)))
        print(f"\n{len(files)} files, {failures} rejected by libcst, {findings} findings")
        if args.json:
            figures = {
                "files": len(files),
                "jobs": args.jobs,
                "phases": [p.__dict__ for p in [parse, *phases]],
                "cold_cpu_per_parse": cold.cpu / parse.cpu,
                "warm_wall_per_cold": warm.wall / cold.wall,
                "changed_wall_per_cold": changed.wall / cold.wall,
                "findings": findings,
            }
            args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        return 0 if all(p.exit_code in (0, 1) for p in phases) else 2
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that the temporary copy is removed on the way out


def _count_findings(report: Path) -> int | None:
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = data.get("findings") if isinstance(data, dict) else None
    return len(found) if isinstance(found, list) else None


if __name__ == "__main__":
    raise SystemExit(main())
