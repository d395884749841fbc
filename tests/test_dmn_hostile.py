"""Hostile and broken DMN files: each is refused with a located message and exit code 1 or
2, never a traceback, by ``engine.load``, ``triage validate`` and ``triage convert`` alike.
The safety checks (no DTD, no entities, a size limit) live in :mod:`engine.dmn`; a fuzz
test breaks the real models of ``tests/data/dmn-real`` in many ways and checks the same."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.dmn import reader
from engine.errors import TriageError, UnreadableFile, WorkbookError
from engine.validation import CHECKS, validate
from tests.test_dmn_corpus import CORPUS, MANIFEST

VALID = (CORPUS / "kie-dmn-core" / "priority_table.dmn").read_bytes()
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">&lol9;</definitions>'
)
EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/">&x;</definitions>'
)
NESTED = (
    b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="n">'
    + b'<itemDefinition name="t">'
    + b'<itemComponent name="c">' * 5000
    + b"</itemComponent>" * 5000
    + b"</itemDefinition>"
    + b'<inputData id="i" name="x"><variable name="x" typeRef="t"/></inputData>'
    + b"</definitions>"
)
CHAINED_TYPES = (
    b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="n">'
    + b"".join(
        b'<itemDefinition name="t%d"><typeRef>t%d</typeRef></itemDefinition>' % (n, n + 1)
        for n in range(3000)
    )
    + b'<inputData id="i" name="x"><variable name="x" typeRef="t0"/></inputData>'
    + b"</definitions>"
)


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (LAUGHS, "TV004", "entities"),
        (EXTERNAL, "TV004", "entities"),
        (b"", "TV001", "not well-formed XML"),
        (bytes(range(256)) * 40, "TV001", "not well-formed XML"),
        (b"PK\x03\x04 a zip, not XML", "TV001", "not well-formed XML"),
        (b'<?xml version="1.0" encoding="no-such-encoding"?><definitions/>', "TV001", "XML"),
        (VALID[: len(VALID) // 2], "TV001", "not well-formed XML"),
        (b"<definitions/>", "TV001", "not a DMN model"),
        (b'<definitions xmlns="http://www.omg.org/spec/DMN/20151101/other"/>', "TV001", "DMN"),
        (b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "TV001", "DMN"),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "empty",
        "binary",
        "zip",
        "encoding",
        "truncated",
        "no-namespace",
        "other-namespace",
        "excel-2003-xml",
    ],
)
def test_an_unreadable_file_is_refused_with_exit_code_2(
    tmp_path: Path, data: bytes, code: str, words: str
) -> None:
    path = tmp_path / "model.dmn"
    path.write_bytes(data)
    started = time.perf_counter()
    with pytest.raises(UnreadableFile) as caught:
        engine.load(path)
    assert time.perf_counter() - started < 5
    (problem,) = caught.value.problems
    assert (problem.code, words in problem.message) == (code, True), problem
    report = validate(path)
    assert report.exit_code() == 2 and report.findings[0].code == code
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["convert", str(path), str(tmp_path / "out.xlsx")])
    assert result.exit_code == 2 and not (tmp_path / "out.xlsx").exists()


def test_a_file_over_the_size_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_DMN_BYTES", 1000)
    path = tmp_path / "big.dmn"
    path.write_bytes(VALID)
    with pytest.raises(UnreadableFile) as caught:
        engine.load(path)
    assert caught.value.problems[0].code == "TV003"
    with pytest.raises(UnreadableFile):
        reader.read_dmn(VALID)
    assert validate(path).exit_code() == 2


@pytest.mark.parametrize("data", [NESTED, CHAINED_TYPES], ids=["nested", "chained-types"])
def test_deep_types_are_refused_without_exhausting_the_stack(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "deep.dmn"
    path.write_bytes(data)
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    assert any(p.code == "TV116" and "nested more than" in p.message for p in caught.value.problems)
    assert validate(path).exit_code() == 1


def _mutations(data: bytes, rng: random.Random) -> list[bytes]:
    """Ways a real model gets broken: cut short, an element or attribute removed, a text
    replaced by junk, elements duplicated or swapped, ids and hrefs scrambled."""
    text = data.decode("utf-8", "replace")
    tags = [
        m.span()
        for m in re.finditer(r"<(\w+:)?(\w+)[^<>]*?/>|<(\w+:)?text>[^<]*</(\w+:)?text>", text)
    ]
    junk = ['"', "<", "&amp;", "${x}", "? > 1", "[1..", "not(", "1e999", "-", "", "null", "é"]
    found = [data[: rng.randrange(len(data))]]
    for _ in range(12):
        if not tags:
            break
        start, end = tags[rng.randrange(len(tags))]
        choice = rng.randrange(5)
        if choice == 0:  # remove an element
            found.append((text[:start] + text[end:]).encode())
        elif choice == 1:  # replace a text with junk
            piece = re.sub(
                r">[^<]*<", f">{rng.choice(junk).replace('<', '&lt;')}<", text[start:end], count=1
            )
            found.append((text[:start] + piece + text[end:]).encode())
        elif choice == 2:  # duplicate an element
            found.append((text[:end] + text[start:end] + text[end:]).encode())
        elif choice == 3:  # scramble attribute values
            piece = re.sub(
                r'="[^"]*"',
                lambda m: f'="{rng.choice(["", "#nowhere", "x y", "1"])}"',
                text[start:end],
            )
            found.append((text[:start] + piece + text[end:]).encode())
        else:  # break the nesting
            found.append(
                (text[:start] + text[start:end].replace("/>", ">", 1) + text[end:]).encode()
            )
    return found


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda m: m["file"])
def test_broken_real_models_are_refused_cleanly(tmp_path: Path, entry: dict[str, str]) -> None:
    """Every mutation of every corpus model loads, or is refused with coded, located
    problems; the validator never fails with anything but a finding."""
    rng = random.Random(entry["file"])
    path = tmp_path / Path(entry["file"]).name
    for data in _mutations((CORPUS / entry["file"]).read_bytes(), rng):
        path.write_bytes(data)
        try:
            engine.load(path)
        except UnreadableFile as error:
            assert [p.code for p in error.problems] in (["TV001"], ["TV004"]), error
        except WorkbookError as error:
            assert error.problems and all(p.code in CHECKS for p in error.problems), error
            assert all(p.location is not None for p in error.problems), error
        except TriageError as error:  # an engine bug if durable-rules refused a valid model
            pytest.fail(f"{entry['file']}: {type(error).__name__}: {error}")
        report = validate(path, vignettes=False)
        assert report.exit_code() in (0, 1, 2)
        assert not any("the validator failed" in f.message for f in report.findings)
