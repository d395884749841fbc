"""The survey behind the table in docs/dmn.md: every distinct DMN file holding a decision
table in the public repositories the corpus comes from, loaded with ``engine.load`` and,
when refused, sorted by the first reason that keeps it out.

    python tests/data/dmn-real/survey.py /work/.mirror            # a markdown table
    python tests/data/dmn-real/survey.py /work/.mirror --counts   # loaded / refused only

The repositories are bare git mirrors under one folder (``owner+name/repo``), as
``build.py`` reads them. ``--counts`` also works with older versions of the engine, whose
problems carried no check codes: that is how the "before" figure was measured.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

# (mirror, label, paths searched): the scopes of issue 17.
SCOPES = [
    ("dmn-tck+tck", "DMN TCK", "TestCases/"),
    ("camunda+camunda-bpm-examples", "camunda-bpm-examples", ""),
    ("camunda+camunda-bpm-platform", "camunda-bpm-platform", ""),
    ("camunda+dmn-scala", "dmn-scala", ""),
    ("kiegroup+drools", "kie-dmn-core", "kie-dmn/kie-dmn-core/src/test/resources/"),
    ("apache+incubator-kie-kogito-examples", "kogito-examples", ""),
    ("bpmn-io+dmn-js", "dmn-js", ""),
    ("russellmcdonell+pyDMNrules", "pyDMNrules", ""),
]
DMN_NAME = re.compile(r"(?i)\.dmn$|\.dmn1[0-9]?\.xml$")

# The first of these that a refused file's problems show is the reason it is counted under.
REASONS = [
    ("JUEL or another expression language", r"expression language|JUEL"),
    ("business knowledge models, invocations, imports", r"business knowledge|invocation|import"),
    (
        "other boxed expressions as decision logic (context, literal expression, relation, …)",
        r"the decision's logic|no decision logic",
    ),
    ("structured or collection inputs and outputs", r"structure|collection|component"),
    ("FEEL types other than number, string, boolean (date, time, duration)", r"\(a FEEL \w+"),
    (
        "FEEL expressions and names in entries or input expressions",
        r"FEEL expression|FEEL function|uses the name|is a FEEL name|FEEL list|input value \(\?\)",
    ),
    (
        "typeRefs that contradict the entries (a modeler's default string on numbers)",
        r"correct the typeRef|is not text|compares order",
    ),
    (
        "malformed: empty expressions, missing parts, unknown types",
        r"is empty|has no|neither a built-in|no closing quote|entries for",
    ),
    ("other model errors: names used twice, unnamed outputs, aggregations, cycles, values", r"."),
]


def files(root: Path) -> list[tuple[str, str, bytes]]:
    """(scope, path, content) of every distinct DMN file with a decision table."""
    seen: set[str] = set()
    found = []
    for mirror, label, under in SCOPES:
        git = ["git", f"--git-dir={root / mirror / 'repo'}"]
        listed = subprocess.run(
            [*git, "ls-tree", "-r", "--name-only", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        for path in listed:
            if not path.startswith(under) or not DMN_NAME.search(path):
                continue
            data = subprocess.run(
                [*git, "show", f"HEAD:{path}"], capture_output=True, check=True
            ).stdout
            digest = hashlib.sha256(data).hexdigest()
            if b"decisionTable" in data and digest not in seen:
                seen.add(digest)
                found.append((label, path, data))
    return found


def outcome(path: Path) -> tuple[str, str]:
    """('loaded' | 'unreadable' | 'refused', reason)."""
    import engine
    from engine.errors import UnreadableFile, WorkbookError

    try:
        engine.load(path)
    except UnreadableFile as error:
        return "unreadable", str(error.problems[0].message)
    except WorkbookError as error:
        text = "\n".join(f"{p.message} {p.fix}" for p in error.problems)
        return "refused", next(label for label, pattern in REASONS if re.search(pattern, text))
    return "loaded", ""


def main(root: Path, counts_only: bool) -> None:
    found = files(root)
    results = Counter()
    by_scope: Counter[tuple[str, str]] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for scope, path, data in found:
            target = Path(tmp) / Path(path).name
            target.write_bytes(data)
            status, reason = outcome(target)
            results[(status, reason if not counts_only else "")] += 1
            by_scope[(scope, status)] += 1
    total = len(found)
    loaded = sum(n for (status, _), n in results.items() if status == "loaded")
    print(f"{total} distinct files with a decision table; {loaded} load ({loaded / total:.0%})")
    if counts_only:
        return
    print("\n| scope | files | load | refused | unreadable |\n|---|---:|---:|---:|---:|")
    for _, scope, _ in SCOPES:
        row = [by_scope[(scope, s)] for s in ("loaded", "refused", "unreadable")]
        print(f"| {scope} | {sum(row)} | {row[0]} | {row[1]} | {row[2]} |")
    print("\n| outcome | files |\n|---|---:|")
    for (status, reason), count in sorted(results.items(), key=lambda kv: -kv[1]):
        print(f"| {status}{': ' + reason if reason else ''} | {count} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--counts" in sys.argv)
