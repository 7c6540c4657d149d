"""Property-based fuzzing of every importer (``all_parsers()``) with hypothesis.

Three shapes of input per parser: a real sample mutated (bit flips, cuts, inserted bytes,
splices from other formats' samples, repeated runs, scrambled digits; for zips, one member
mutated and the archive rebuilt), the sample's own lines recombined with arbitrary text in
between, and arbitrary bytes behind the format's first bytes.

The property: reading the file through the pipeline's reader (what ``run_import`` and the
import wizard's preview consume) either yields well-formed records (events, entities,
row errors) or raises ``ParseError``; nothing else, for any input. A smaller set of inputs
goes through ``run_import`` into a database: a refused import leaves it exactly as before.

Examples per parser and shape: ``count("fuzz_examples", 25, 300)``.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.corpus import mutate_file, samples
from tests.reliability.support import LONG, count, table_counts
from workstation.errors import WorkstationError
from workstation.ingest.formats import all_parsers, get_parser
from workstation.ingest.pipeline import _records, run_import
from workstation.ingest.records import ImportOptions, Notice, ParsedEntity, ParsedEvent, ParseError, RowError

PARSER_NAMES = [p.name for p in all_parsers()]
ZIP_ONLY = {"slack_zip", "discord_package"}  # no lines to recombine: fuzzed member by member in the mutation test
EXAMPLES = count("fuzz_examples", 25, 300)
PIPELINE_EXAMPLES = count("fuzz_pipeline_examples", 6, 60)
MAX_RECORDS = 20_000
_SEEDS: dict[str, list[Path]] = {}
_ALL_BYTES: list[bytes] = []
_RUNS: dict[str, int] = {}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    if not _SEEDS:
        _SEEDS.update(samples(tmp_path_factory.mktemp("fuzz-seeds")))
        _ALL_BYTES.extend(p.read_bytes() for files in _SEEDS.values() for p in files)
    return _SEEDS


def consume(fmt: str, path: Path, options: ImportOptions | None = None) -> int:
    """Read the file as the pipeline does; returns the number of records. Raises only
    ParseError when the file is refused; an AssertionError for a malformed record."""
    n = 0
    for rec in itertools.islice(_records(get_parser(fmt), path, options or ImportOptions()), MAX_RECORDS):
        assert isinstance(rec, (ParsedEvent, ParsedEntity, RowError, Notice)), f"{type(rec).__name__} is not a record"
        if isinstance(rec, ParsedEvent):
            assert isinstance(rec.ref, str) and rec.ref
            assert rec.occurred_at is None or isinstance(rec.occurred_at, datetime)
        elif isinstance(rec, (RowError, Notice)):
            assert isinstance(rec.ref, str) and isinstance(rec.message, str)
        n += 1
    return n


def _check(fmt: str, path: Path) -> None:
    _RUNS[fmt] = _RUNS.get(fmt, 0) + 1
    try:
        consume(fmt, path)
    except ParseError:
        pass


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True) or [b""]


# Derandomised in the normal suite (the same inputs every run, so a red run is a finding to
# replay, never luck); the long run draws new inputs each time.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("fmt", PARSER_NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_samples_never_crash_a_parser(fmt: str, seeds: dict[str, list[Path]], tmp_path: Path, data) -> None:  # noqa: ANN001
    src = data.draw(st.sampled_from(seeds[fmt]), label="sample")
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="mutation seed"))
    path = tmp_path / f"mutated{src.suffix}"
    path.write_bytes(mutate_file(src, rng, _ALL_BYTES))
    _check(fmt, path)


@pytest.mark.parametrize("fmt", [n for n in PARSER_NAMES if n not in ZIP_ONLY])
@FUZZ
@given(data=st.data())
def test_recombined_lines_never_crash_a_parser(fmt: str, seeds: dict[str, list[Path]], tmp_path: Path, data) -> None:  # noqa: ANN001
    texts = [p for p in seeds[fmt] if p.read_bytes()[:2] != b"PK"]
    src = data.draw(st.sampled_from(texts), label="sample")
    lines = _lines(src)
    picked = data.draw(st.lists(st.sampled_from(lines), min_size=1, max_size=60), label="lines")
    noise = data.draw(st.lists(st.text(max_size=40), max_size=8), label="noise")
    out = list(picked)
    for text in noise:
        out.insert(data.draw(st.integers(0, len(out)), label="at"), text.encode("utf-8", "surrogatepass"))
    path = tmp_path / f"recombined{src.suffix}"
    path.write_bytes(b"".join(out))
    _check(fmt, path)


@pytest.mark.parametrize("fmt", PARSER_NAMES)
@FUZZ
@given(data=st.data())
def test_arbitrary_bytes_behind_a_real_head_never_crash_a_parser(fmt: str, seeds: dict[str, list[Path]],
                                                                   tmp_path: Path, data) -> None:  # noqa: ANN001
    src = data.draw(st.sampled_from(seeds[fmt]), label="sample")
    keep = data.draw(st.integers(0, 512), label="head bytes kept")
    tail = data.draw(st.binary(max_size=4096), label="tail")
    path = tmp_path / f"arbitrary{src.suffix}"
    path.write_bytes(src.read_bytes()[:keep] + tail)
    _check(fmt, path)


@pytest.mark.parametrize("fmt", PARSER_NAMES)
@settings(max_examples=PIPELINE_EXAMPLES, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_import_is_typed_and_leaves_nothing_when_refused(fmt: str, seeds: dict[str, list[Path]], ws,  # noqa: ANN001
                                                                 tmp_path: Path, data) -> None:  # noqa: ANN001
    case_id = ws.find_case("FUZZ").id if any(c.number == "FUZZ" for c in ws.list_cases()) else \
        ws.create_case("FUZZ", "Fuzzed imports").ids[0]
    src = data.draw(st.sampled_from(seeds[fmt]), label="sample")
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="mutation seed"))
    path = tmp_path / f"import-{rng.randrange(1 << 30)}{src.suffix}"
    path.write_bytes(mutate_file(src, rng, _ALL_BYTES))
    before = table_counts(ws.db)
    try:
        run_import(ws, case_id, path, fmt=fmt)
    except WorkstationError:
        assert table_counts(ws.db) == before, "a refused import changed the database"


def test_fuzz_figures(figures) -> None:  # noqa: ANN001
    """Report how many fuzzed inputs were read (runs after the fuzz tests in this file)."""
    total = sum(_RUNS.values())
    if not total:
        pytest.skip("the fuzz tests did not run in this session")
    figures.record("hostile input", "hypothesis-fuzzed files read through every parser → records or ParseError",
                   total, 0, {"per_parser": dict(_RUNS), "examples_per_shape": EXAMPLES})
