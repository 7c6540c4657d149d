"""PDQIndex: same answers as brute force, quality filter, clusters, and the speed budget."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from workstation.media.errors import InvalidHashError
from workstation.media.pdq import PDQIndex, clusters, hamming


def _random_hashes(rng: np.random.Generator, n: int) -> list[str]:
    return [row.tobytes().hex() for row in rng.integers(0, 256, (n, 32), dtype=np.uint8)]


def _flip(hex_value: str, bits: int, rng: np.random.Generator) -> str:
    data = bytearray(bytes.fromhex(hex_value))
    for bit in rng.choice(256, bits, replace=False):
        data[bit // 8] ^= 1 << (bit % 8)
    return data.hex()


def _distances(entries: list[tuple[int, str]], query: str) -> list[tuple[int, int]]:
    q = int(query, 16)
    return [(i, (int(h, 16) ^ q).bit_count()) for i, h in entries]


def _brute(distances: list[tuple[int, int]], max_distance: int) -> list[tuple[int, int]]:
    return sorted([(i, d) for i, d in distances if d <= max_distance], key=lambda t: (t[1], t[0]))


def test_hamming() -> None:
    a = "0" * 64
    assert hamming(a, a) == 0
    assert hamming(a, "f" * 64) == 256
    assert hamming(a, "8" + "0" * 63) == 1
    assert hamming("ABCDEF" + "0" * 58, "abcdef" + "0" * 58) == 0
    with pytest.raises(InvalidHashError):
        hamming(a, "123")
    with pytest.raises(InvalidHashError):
        hamming(a, "g" * 64)


@pytest.mark.parametrize("n", [500, 30_000])  # brute-force path and chunk-table path
def test_index_agrees_with_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    hashes = _random_hashes(rng, n)
    # Plant families of near-duplicates at distances around the threshold.
    for family in range(20):
        base = hashes[family]
        for k, bits in enumerate((1, 8, 16, 24, 31, 32, 40)):
            hashes[100 + family * 7 + k] = _flip(base, bits, rng)
    entries = list(enumerate(hashes))
    index = PDQIndex((i, h, None) for i, h in entries)
    queries = [hashes[f] for f in range(20)] + [_flip(hashes[f], 10, rng) for f in range(20)]
    queries += _random_hashes(rng, 10)
    for query in queries:
        distances = _distances(entries, query)
        for max_distance in (0, 15, 31, 47):
            assert index.query(query, max_distance) == _brute(distances, max_distance)
    wide = _brute(_distances(entries, queries[0]), 80)
    assert index.query(queries[0], 80) == wide  # beyond the chunk tables: full scan


def test_extend_after_build_finds_new_entries() -> None:
    rng = np.random.default_rng(1)
    hashes = _random_hashes(rng, 25_000)
    index = PDQIndex(((i, h, None) for i, h in enumerate(hashes))).build()
    new = _flip(hashes[5], 3, rng)
    index.extend([("late", new, 90)])
    assert index.query(hashes[5], 31)[:2] == [(5, 0), ("late", 3)]
    assert len(index) == 25_001


def test_quality_filter_is_configurable() -> None:
    h = "ab" * 32
    entries = [("q49", h, 49), ("q50", h, 50), ("unknown", h, None)]
    assert [i for i, _ in PDQIndex(entries).query(h)] == ["q50", "unknown"]
    assert [i for i, _ in PDQIndex(entries, min_quality=0).query(h)] == ["q49", "q50", "unknown"]
    assert PDQIndex(entries).skipped_low_quality == 1


def test_bad_hash_names_the_entry() -> None:
    with pytest.raises(InvalidHashError, match="photo-7"):
        PDQIndex([("photo-7", "xyz", 100)])
    with pytest.raises(InvalidHashError):
        PDQIndex([]).query("nothex")


def test_empty_index_returns_nothing() -> None:
    assert PDQIndex().query("00" * 32) == []


def test_clusters_group_chains_of_near_duplicates() -> None:
    rng = np.random.default_rng(3)
    a, b, lone = _random_hashes(rng, 3)
    a1 = _flip(a, 20, rng)
    a2 = _flip(a1, 20, rng)  # 40 from a, but chained through a1
    b1 = _flip(b, 5, rng)
    entries = [("a", a, 100), ("a1", a1, 100), ("a2", a2, 100), ("b", b, 100), ("b1", b1, 80),
               ("lone", lone, 100), ("flat", _flip(b, 1, rng), 10)]
    stacks = clusters(entries, 31)
    assert stacks == [["a", "a1", "a2"], ["b", "b1"]]
    assert clusters(entries, 10) == [["b", "b1"]]


def test_query_speed_against_a_million_entries() -> None:
    rng = np.random.default_rng(11)
    raw = rng.integers(0, 256, (1_000_000, 32), dtype=np.uint8)
    index = PDQIndex((i, row.tobytes().hex(), None) for i, row in enumerate(raw)).build()
    queries = [_flip(raw[i * 4999].tobytes().hex(), 20, rng) for i in range(100)]
    timings = []
    for i, query in enumerate(queries):
        # CPU time of this process: other jobs sharing the machine do not count against us.
        start = time.process_time()
        hits = index.query(query, 31)
        timings.append(time.process_time() - start)
        assert hits and hits[0] == (i * 4999, 20)
    assert statistics.median(timings) <= 0.005
