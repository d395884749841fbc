"""Service benchmark: the real ``triage serve`` against a bare Flask endpoint, same settings.

Run ``python bench/service.py`` (about 1 minute), ``--quick`` (CI smoke), ``--soak 60`` (a
60-second soak at full load), ``--json`` (machine-readable), ``--baseline COMMIT`` (also the
service as it was at COMMIT, exported with ``git archive``, in the same rounds: a change is
judged against its own starting point and the same floor, on the same noisy machine).
Figures and method are in docs/performance.md, section "Service". Only 127.0.0.1 is ever targeted.

What is measured, and why:

* **Peak throughput.** Two servers run under the same gunicorn settings (the ones
  ``triage serve`` uses): ours, with the bundled muscle-twitching table, explanation and an
  audit row committed per request; and a bare Flask app whose one POST endpoint parses the
  same JSON body and answers a small JSON object — the floor any Flask service pays. Each is
  driven closed-loop by client processes (separate from the servers) for the same time, in
  alternating rounds so that a noisy neighbour hurts both alike. Requests per second, p50
  and p99 latency, and each server's ratio to the bare endpoint are printed. The baseline
  server has two more endpoints, measured in the same rounds: ``/engine`` (bare +
  ``Model.evaluate``) and ``/floor`` (bare + only durable-rules' calls and one audit commit,
  everything else prepared in advance), which bound what any service doing this work can
  reach.
* **Latency at half load.** Ours again, open-loop at half its measured peak, for as many
  rounds as the peak (the round with the median p99 is reported): requests are sent on a
  fixed schedule and latency is counted from the scheduled time, so a stall cannot hide by
  delaying the requests behind it (no coordinated omission). On 2 shared cores a neighbour's
  burst of work briefly halves the capacity and an open-loop queue grows behind it; the
  rounds show how often that happened.
* **Soak.** Full load for ``--soak`` seconds: every request must succeed, and the servers'
  resident memory at the end must be within 10% of where it stood after warm-up.

The facts are the 95 vignettes of the bundled workbook, cycled, so the engine does real and
varied work (no answer is cached anywhere). The client is a small HTTP/1.1 client on raw
sockets with keep-alive, one connection per process: ``http.client`` costs more CPU per
request than the bare endpoint itself, and on a 2-core machine the client shares the cores
with the servers, so a heavy client would make every server look alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402
    HOST,
    Result,
    Server,
    drive,
    free_port,
    wait_ready,
)

WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
TABLE_ID = "muscle_twitching"
TARGET_RATIO = 0.80  # ours / bare requests per second, at least
TARGET_P99_MS = 20.0  # at half of ours' peak
TARGET_MEMORY = 0.10  # soak: resident memory growth at most this fraction


__all__ = ["HOST", "Result", "Server", "compare", "drive", "soak"]


# --- the servers ----------------------------------------------------------------------------


def start_ours(workdir: Path, workers: int, threads: int) -> Server:
    tables = workdir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORKBOOK, tables / WORKBOOK.name)
    port = free_port()
    triage = Path(sys.executable).with_name("triage")
    argv = [
        str(triage),
        "serve",
        "--tables",
        str(tables),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--database-url",
        f"sqlite:///{workdir / 'audit.sqlite3'}",
        "--log-level",
        "info",
    ]
    server = Server(argv, port, {"TRIAGE_ADMIN_TOKEN": "bench-admin-token"})
    wait_ready(port)
    return server


def export_revision(revision: str, target: Path) -> Path:
    """The service as it was at ``revision`` (a commit of this repository), exported as plain
    files (``git archive``; no worktree is made), to run beside the current one."""
    import subprocess

    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def start_revision(workdir: Path, source: Path, workers: int, threads: int) -> Server:
    """``triage serve`` from an exported revision, with its own code first on the path."""
    tables = workdir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORKBOOK, tables / WORKBOOK.name)
    port = free_port()
    code = (f"import sys; sys.path.insert(0, {str(source)!r}); "
            "from engine.cli import main; sys.exit(main())")
    argv = [sys.executable, "-c", code, "serve", "--tables", str(tables), "--port", str(port),
            "--workers", str(workers), "--threads", str(threads), "--database-url",
            f"sqlite:///{workdir / 'audit.sqlite3'}", "--log-level", "info"]
    server = Server(argv, port, {"TRIAGE_ADMIN_TOKEN": "bench-admin-token"})
    wait_ready(port)
    return server


def start_bare(workdir: Path, workers: int, threads: int) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-bare",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--workdir",
        str(workdir),
    ]
    server = Server(argv, port)
    wait_ready(port, "/healthz")
    return server


def serve_bare(port: int, workers: int, threads: int, workdir: Path) -> None:
    """The baseline: a Flask POST endpoint that parses the body and answers small JSON,
    under exactly the gunicorn settings of ``triage serve``. Two more endpoints show how much
    of the gap between the bare endpoint and ours nothing in the service could remove:

    * ``/engine`` adds only ``Model.evaluate`` (no audit, explanation, metrics or logs);
    * ``/floor`` adds only the work no implementation of the issue can skip: durable-rules'
      own calls for the case (its messages encoded in advance, so no Python fact checking,
      encoding, hit policy or description of fired rules) and one audit row committed to
      SQLite (its JSON text also prepared in advance).
    """
    from flask import Flask, abort, jsonify, request

    import engine
    from service.serve import GunicornServer, gunicorn_options

    def factory() -> Flask:
        app = Flask("bare")
        model = engine.load(WORKBOOK)
        floor = _Floor(model, workdir / f"floor-{os.getpid()}.sqlite3")

        @app.post("/evaluate")
        def evaluate() -> Any:
            facts = request.get_json()["facts"]
            return jsonify(fields=len(facts), ok=True)

        @app.post("/engine")
        def engine_only() -> Any:
            return jsonify(model.evaluate(request.get_json()["facts"]).as_dict())

        @app.post("/floor")
        def floor_only() -> Any:
            facts = request.get_json()["facts"]
            if not floor.run(facts):
                abort(404)  # not one of the vignettes: the floor only knows those
            return jsonify(fields=len(facts), ok=True)

        @app.get("/healthz")
        def healthz() -> Any:
            return jsonify(status="alive")

        return app

    GunicornServer(factory, gunicorn_options(HOST, port, workers, threads, "warning")).run()


class _Floor:
    """The irreducible part of one evaluation of a vignette, prepared in advance."""

    def __init__(self, model: Any, database: Path) -> None:
        import datetime as dt

        from engine.facts import FactChecker
        from engine.hitpolicy import resolve
        from engine.model import HitPolicy
        from service.audit import AuditLog, AuditRow
        from service.jsontext import dumps

        self.runners = [model.runners[t.name] for t in model.tables]
        self.messages: dict[str, list[list[str]]] = {}
        self.rows: dict[str, Any] = {}
        checker = FactChecker(model.inputs)
        for vignette in model.vignettes:
            key = dumps(dict(vignette.facts))
            values = checker.check(vignette.facts)
            self.messages[key] = []
            for table, runner in zip(model.tables, self.runners, strict=True):
                self.messages[key].append(runner.messages(values))
                matched = runner.match(values, table.hit_policy is HitPolicy.FIRST)
                values.update(resolve(table, matched).by_output)
            decision = model.evaluate(vignette.facts)
            self.rows[key] = AuditRow(
                "floor", dt.datetime.now(dt.UTC), model.about.table_id, model.version, key,
                dumps(dict(decision.outputs)), dumps([f.as_dict() for f in decision.fired]),
            )
        self.audit = AuditLog(f"sqlite:///{database}")
        self.audit.create_schema()
        self.dumps = dumps

    def run(self, facts: Any) -> bool:
        key = self.dumps(facts)
        messages = self.messages.get(key)
        if messages is None:
            return False
        for runner, per_ruleset in zip(self.runners, messages, strict=True):
            matched: set[int] = set()
            for number, text in enumerate(per_ruleset):
                runner._post(number, text, matched)  # noqa: SLF001 - the engine's own call
        self.audit.record([self.rows[key]])
        return True


def case_bodies() -> list[bytes]:
    """The Tests sheet's vignettes, as request bodies."""
    import engine

    model = engine.load(WORKBOOK)
    return [json.dumps({"facts": dict(v.facts)}).encode() for v in model.vignettes]


# --- the runs -------------------------------------------------------------------------------


def compare(
    workdir: Path,
    seconds: float,
    rounds: int,
    clients: int,
    workers: int,
    threads: int,
    quiet: bool = False,
    baseline: str | None = None,
) -> dict[str, Any]:
    """Peak throughput of ours and of the bare endpoint, in alternating rounds, then ours at
    half its peak. With ``baseline`` (a commit), the service as it was there is measured in
    the same rounds too (``start``). Servers are stopped before returning."""
    bodies = case_bodies()
    ours = start_ours(workdir, workers, threads)
    bare = start_bare(workdir / "bare", workers, threads)
    start = (start_revision(workdir / "start", export_revision(baseline, workdir / "code"),
                            workers, threads) if baseline else None)
    path = f"/v1/tables/{TABLE_ID}/evaluate"
    runs: dict[str, list[Result]] = {"ours": [], "bare": [], "floor": [], "engine_only": []}
    contenders: list[tuple[str, Server, str]] = [
        ("bare", bare, "/evaluate"), ("floor", bare, "/floor"),
        ("engine_only", bare, "/engine"), ("ours", ours, path)]
    if start is not None:
        runs["start"] = []
        contenders.append(("start", start, path))
    try:
        drive(ours.port, path, bodies, 1.0, clients)  # warm-up
        drive(bare.port, "/evaluate", bodies, 1.0, clients)
        if start is not None:
            drive(start.port, path, bodies, 1.0, clients)
        for number in range(rounds):
            for name, server, target in contenders:
                result = drive(server.port, target, bodies, seconds, clients)
                runs[name].append(result)
                _say(quiet, f"round {number + 1} {name}: {result.summary()}")
        peak = statistics.median(r.rps for r in runs["ours"])
        halves = []
        for number in range(rounds):
            halves.append(drive(ours.port, path, bodies, seconds, clients, rate=peak / 2))
            _say(quiet, f"round {number + 1} ours at half load ({peak / 2:.0f} req/s): "
                        f"{halves[-1].summary()}")
        half = sorted(halves, key=lambda r: r.percentile(99))[len(halves) // 2]
    finally:
        ours.stop()
        bare.stop()
        if start is not None:
            start.stop()
    best = {name: _median_run(results) for name, results in runs.items()}
    ratio = best["ours"].rps / best["bare"].rps if best["bare"].rps else 0.0
    floor = best["floor"].rps or 1.0
    extra: dict[str, Any] = {}
    if start is not None:
        extra = {
            "start": best["start"].summary(),
            "baseline": baseline,
            "ours_per_floor": round(best["ours"].rps / floor, 3),
            "start_per_floor": round(best["start"].rps / floor, 3),
            "ours_per_start": round(best["ours"].rps / (best["start"].rps or 1.0), 3),
            # each round's pair, measured back to back: the spread shows the machine's noise
            "ours_per_start_by_round": [
                round(o.rps / (b.rps or 1.0), 3) for o, b in zip(runs["ours"], runs["start"],
                                                                  strict=True)],
        }
    return {
        **extra,
        "ours": best["ours"].summary(),
        "bare": best["bare"].summary(),
        "floor": best["floor"].summary(),
        "engine_only": best["engine_only"].summary(),
        "ratio": round(ratio, 3),
        "half_load": {"rate": round(peak / 2, 1), **half.summary()},
        "rounds": {**{k: [r.summary() for r in v] for k, v in runs.items()},
                   "half_load": [r.summary() for r in halves]},
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "ratio_met": ratio >= TARGET_RATIO,
            "half_load_p99_ms_at_most": TARGET_P99_MS,
            "half_load_p99_met": half.percentile(99) <= TARGET_P99_MS,
        },
    }


def _median_run(results: list[Result]) -> Result:
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def soak(
    workdir: Path, seconds: float, clients: int, workers: int, threads: int, quiet: bool = False
) -> dict[str, Any]:
    """Full load for ``seconds``; no request may fail, and memory must stay within 10% of
    its level after warm-up (one tenth of the run, at least 2 s)."""
    bodies = case_bodies()
    server = start_ours(workdir, workers, threads)
    path = f"/v1/tables/{TABLE_ID}/evaluate"
    try:
        warm = max(2.0, seconds / 10)
        first = drive(server.port, path, bodies, warm, clients)
        before = server.rss_kb()
        rest = drive(server.port, path, bodies, seconds - warm, clients)
        after = server.rss_kb()
    finally:
        server.stop()
    growth = (after - before) / before if before else 0.0
    result = {
        "seconds": seconds,
        "requests": first.ok + rest.ok,
        "failed": first.failed + rest.failed,
        "load": rest.summary(),
        "rss_mb_after_warmup": round(before / 1024, 1),
        "rss_mb_at_end": round(after / 1024, 1),
        "rss_growth": round(growth, 4),
        "targets": {
            "no_failed_request": first.failed + rest.failed == 0,
            "rss_growth_at_most": TARGET_MEMORY,
            "rss_met": growth <= TARGET_MEMORY,
        },
    }
    _say(quiet, f"soak: {result}")
    return result


def memory_growth(loads: int = 40, evaluations: int = 20) -> dict[str, float]:
    """Resident memory a process gains over ``loads`` loads of the bundled workbook, each
    evaluating ``evaluations`` vignettes and then dropped: as engine/evaluator.py frees a
    ruleset (its session first), as durable-rules' own ``delete_ruleset`` alone would, and
    with no evaluation at all. Each in a fresh process, so that one does not feed another."""
    import subprocess

    found = {}
    for mode in ("freed", "delete_ruleset_only", "no_evaluation"):
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--memory-child",
                               mode, str(loads), str(evaluations)],
                              check=True, capture_output=True, text=True)
        found[mode] = float(done.stdout.strip().splitlines()[-1])
    return found


def _memory_child(mode: str, loads: int, evaluations: int) -> None:
    import gc

    import durable_rules_engine as dre

    import engine
    from engine import evaluator

    if mode == "delete_ruleset_only":  # what durable-rules itself frees: not the session
        def delete_ruleset_only() -> None:
            while evaluator._DEAD:  # noqa: SLF001 - reproducing the old behaviour
                dre.delete_ruleset(evaluator._DEAD.pop().handle)  # noqa: SLF001

        evaluator._delete_dead = delete_ruleset_only  # noqa: SLF001
    cases = [dict(v.facts) for v in engine.load(WORKBOOK).vignettes][:evaluations]
    gc.collect()
    before = _own_rss_mb()
    for _ in range(loads):
        model = engine.load(WORKBOOK)
        if mode != "no_evaluation":
            for facts in cases:
                model.evaluate(facts)
        del model
        gc.collect()
    print(round(_own_rss_mb() - before, 1))


def _own_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _report(comparison: dict[str, Any] | None, soaked: dict[str, Any] | None) -> str:
    lines = []
    if comparison:
        rows = [
            ("bare Flask endpoint", comparison["bare"]),
            ("bare + floor", comparison["floor"]),
            ("bare + Model.evaluate", comparison["engine_only"]),
            ("ours (evaluate + audit)", comparison["ours"]),
        ]
        if "start" in comparison:
            rows.append((f"ours at {comparison['baseline'][:10]}", comparison["start"]))
        bare_rps = comparison["bare"]["requests_per_second"] or 1.0
        lines += [
            f"{'':<26}{'req/s':>10}{'/ bare':>8}{'p50 ms':>10}{'p99 ms':>10}{'failed':>9}",
            *(
                f"{name:<26}{r['requests_per_second']:>10.0f}"
                f"{r['requests_per_second'] / bare_rps:>8.2f}{r['p50_ms']:>10.2f}"
                f"{r['p99_ms']:>10.2f}{r['failed']:>9}"
                for name, r in rows
            ),
            f"ours / bare: {comparison['ratio']:.2f} (target at least {TARGET_RATIO:.2f}: "
            f"{'met' if comparison['targets']['ratio_met'] else 'MISSED'})",
        ]
        if "start" in comparison:
            lines.append(
                f"against the floor: ours {comparison['ours_per_floor']:.2f}, at "
                f"{comparison['baseline'][:10]} {comparison['start_per_floor']:.2f}; ours / "
                f"then {comparison['ours_per_start']:.2f} (rounds: "
                f"{', '.join(f'{r:.2f}' for r in comparison['ours_per_start_by_round'])})")
        h = comparison["half_load"]
        met = "met" if comparison["targets"]["half_load_p99_met"] else "MISSED"
        lines.append(
            f"ours at half load ({h['rate']:.0f} req/s): p50 {h['p50_ms']:.2f} ms, p99 "
            f"{h['p99_ms']:.2f} ms, {h['failed']} failed (target p99 at most "
            f"{TARGET_P99_MS:.0f} ms: {met})"
        )
    if soaked:
        lines.append(
            f"soak {soaked['seconds']:.0f} s: {soaked['requests']} requests, {soaked['failed']} "
            f"failed, {soaked['load']['requests_per_second']:.0f} req/s; RSS "
            f"{soaked['rss_mb_after_warmup']} MB after warm-up, {soaked['rss_mb_at_end']} MB at "
            f"the end ({soaked['rss_growth'] * 100:+.1f}%, target at most "
            f"+{TARGET_MEMORY * 100:.0f}%)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per round (default 8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--soak", type=float, default=0.0, help="also soak for this many s")
    parser.add_argument("--soak-only", action="store_true")
    parser.add_argument("--quick", action="store_true", help="short rounds (CI smoke)")
    parser.add_argument("--baseline", default=None, metavar="COMMIT",
                        help="also measure the service as it was at COMMIT, in the same rounds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--memory", action="store_true",
                        help="only measure memory kept across loads of the workbook")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.port, args.workers, args.threads, Path(args.workdir))
        return 0
    if args.memory_child:
        mode, loads, evaluations = args.memory_child
        _memory_child(mode, int(loads), int(evaluations))
        return 0
    if args.memory:
        grown = memory_growth()
        print(json.dumps(grown) if args.json else "\n".join(
            f"40 loads, 20 evaluations each, {mode}: +{mb} MB" for mode, mb in grown.items()))
        return 0
    if args.quick:
        args.seconds, args.rounds = 3.0, 1
    _say(args.json, f"load average at start: {os.getloadavg()[0]:.2f}")
    workdir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        comparison = (
            None
            if args.soak_only
            else compare(
                workdir / "compare",
                args.seconds,
                args.rounds,
                args.clients,
                args.workers,
                args.threads,
                args.json,
                args.baseline,
            )
        )
        soaked = (
            soak(workdir / "soak", args.soak, args.clients, args.workers, args.threads, args.json)
            if args.soak
            else None
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(
            json.dumps(
                {"compare": comparison, "soak": soaked, "settings": asdict_args(args)}, indent=2
            )
        )
    else:
        print(_report(comparison, soaked))
    return 0


def asdict_args(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k not in ("serve_bare", "port", "workdir")}


if __name__ == "__main__":
    sys.exit(main())
