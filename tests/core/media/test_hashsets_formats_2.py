"""Hash sets as their publishers ship them today: NIST NSRL RDS v3 (SQLite and the flat
files tools write from it), Project VIC VICS 1.x/2.0 variants, CAID/Griffeye/X-Ways style
VICS, sum lists and EnCase-style exports.

Every structure is rebuilt synthetically (random hex, example names); no real hash of any
published set is used.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.core.media import gen
from workstation.media import service as media
from workstation.media.errors import HashSetError
from workstation.media.hashsets import HashSetFormat, detect_hashset_format, read_hashset


def _hex(n_bytes: int) -> str:
    return secrets.token_hex(n_bytes)


def _triple() -> tuple[str, str, str]:
    """(sha256, sha1, md5), random."""
    return _hex(32), _hex(20), _hex(16)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --- NSRL RDS v3: the SQLite publication ---------------------------------------------------

# The minimal set's schema as NIST ships it (RDS_<release>_modern_minimal.schema.sql).
RDS_MINIMAL_SCHEMA = """
CREATE TABLE FILE (
 sha256     VARCHAR NOT NULL,
 sha1       VARCHAR NOT NULL,
 md5        VARCHAR NOT NULL,
 crc32      VARCHAR NOT NULL,
 file_name  VARCHAR NOT NULL,
 file_size  INTEGER NOT NULL,
 package_id INTEGER NOT NULL,
 CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id)
);
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL,
 CONSTRAINT PK_MFG__MFG_ID PRIMARY KEY (manufacturer_id));
CREATE TABLE OS (operating_system_id INTEGER, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
 manufacturer_id INTEGER NOT NULL, CONSTRAINT PK_OS__OS_ID PRIMARY KEY (operating_system_id, manufacturer_id));
CREATE TABLE PKG (package_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
 operating_system_id INTEGER, manufacturer_id INTEGER, language VARCHAR NOT NULL,
 application_type VARCHAR NOT NULL,
 CONSTRAINT PK_PGK__PKG_ID PRIMARY KEY (package_id, operating_system_id, manufacturer_id, language, application_type));
CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL,
 build_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL, release_date TIMESTAMP NOT NULL,
 description VARCHAR NOT NULL, CONSTRAINT PK_VERSION__VERSION PRIMARY KEY (version));
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5 FROM FILE;
"""


def _rds_minimal(path: Path, files: list[tuple[tuple[str, str, str], str, int, list[int]]],
                 extra_rows: list[tuple] = ()) -> Path:
    """An RDS v3 minimal database: each file (hashes, name, size, package ids) gets one FILE
    row per package, hashes in upper case as NIST stores them."""
    conn = sqlite3.connect(path)
    conn.executescript(RDS_MINIMAL_SCHEMA)
    conn.execute("INSERT INTO MFG VALUES (1, 'Example Software Ltd')")
    conn.execute("INSERT INTO OS VALUES (10, 'ExampleOS', '1.0', 1)")
    conn.execute("INSERT INTO VERSION VALUES ('2024.03.1', 'modern', '2024-03-01 00:00:00', '2024-03-15', "
                 "'RDSv3 synthetic test set')")
    packages = sorted({p for *_, pkgs in files for p in pkgs})
    conn.executemany("INSERT INTO PKG VALUES (?, ?, '1.0', 10, 1, 'English', 'Operating System')",
                     [(p, f"Example Suite {p}") for p in packages])
    rows = [(h[0].upper(), h[1].upper(), h[2].upper(), _hex(4).upper(), name, size, pkg)
            for h, name, size, pkgs in files for pkg in pkgs]
    conn.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", [*rows, *extra_rows])
    conn.commit()
    conn.close()
    return path


def test_rds_v3_minimal_sqlite_is_read_by_schema_one_entry_per_distinct_hash(tmp_path: Path) -> None:
    kernel, readme, icon = _triple(), _triple(), _triple()
    # Named like nothing in particular: recognised by its schema, not its file name.
    path = _rds_minimal(tmp_path / "reference set.bin", [
        (kernel, "kernel32.dll", 720_000, [3001, 3002, 3003]),
        (readme, "README.TXT", 1_024, [3001]),
        (icon, "app.ico", 0, [3004, 3005]),
    ])
    before = path.read_bytes()
    assert detect_hashset_format(path) == HashSetFormat.RDS_SQLITE
    reader = read_hashset(path)
    entries = list(reader)
    assert reader.format == HashSetFormat.RDS_SQLITE and reader.error_count == 0
    assert len(entries) == 3  # six FILE rows, three distinct files
    by_sha256 = {e.sha256: e for e in entries}
    k = by_sha256[kernel[0]]
    assert (k.sha1, k.md5, k.file_name, k.size) == (kernel[1], kernel[2], "kernel32.dll", 720_000)
    assert k.properties["package_count"] == 3 and k.properties["package_id"] in (3001, 3002, 3003)
    # Lower-case hex as every other hash we hold (a random CRC may be all digits).
    assert re.fullmatch(r"[0-9a-f]{8}", str(k.properties["crc32"]))
    assert "package_count" not in by_sha256[readme[0]].properties
    assert by_sha256[icon[0]].size == 0
    # Known software, ignorable: said for the set, the same way as for the v2 CSV.
    assert reader.known_good is True and reader.metadata["known_good"] is True
    assert reader.metadata["rds_version"] == "2024.03.1" and reader.metadata["rds_build_set"] == "modern"
    assert path.read_bytes() == before  # opened read-only and immutable
    assert not list(tmp_path.glob("*-journal")) and not list(tmp_path.glob("*-wal"))


def test_rds_v3_full_set_layout_with_file_view_over_metadata(tmp_path: Path) -> None:
    """The full (and older curated) publications keep the rows in METADATA and offer FILE,
    PKG, OS and MFG as views; FILE may lack crc32."""
    a, b = _triple(), _triple()
    path = tmp_path / "RDS_2024.03.1_android.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE METADATA (object_id INTEGER, package_id INTEGER, file_path TEXT, file_name TEXT,
                               extension TEXT, bytes INTEGER, crc32 TEXT, md5 TEXT, sha1 TEXT, sha256 TEXT);
        CREATE TABLE PACKAGE_OBJECT (package_id INTEGER, object_id INTEGER);
        CREATE VIEW FILE AS SELECT sha256, sha1, md5, file_name, bytes AS file_size, package_id FROM METADATA;
        CREATE TABLE APPLICATION (package_id INTEGER, name TEXT, version TEXT);
        CREATE VIEW PKG AS SELECT package_id, name, version FROM APPLICATION;
    """)
    conn.executemany("INSERT INTO METADATA VALUES (?,?,?,?,?,?,?,?,?,?)", [
        (1, 77, "/system/app/", "classes.dex", "dex", 4096, None, a[2].upper(), a[1].upper(), a[0].upper()),
        (2, 78, "/system/lib/", "libexample.so", "so", 8192, None, b[2].upper(), b[1].upper(), b[0].upper()),
    ])
    conn.commit()
    conn.close()
    assert detect_hashset_format(path) == HashSetFormat.RDS_SQLITE
    reader = read_hashset(path)
    entries = sorted(reader, key=lambda e: e.file_name or "")
    assert [(e.file_name, e.sha256, e.md5, e.size, e.properties) for e in entries] == [
        ("classes.dex", a[0], a[2], 4096, {"package_id": 77}),
        ("libexample.so", b[0], b[2], 8192, {"package_id": 78}),
    ]
    assert reader.metadata["rds_relation"] == "FILE" and reader.known_good


def test_rds_v3_bad_rows_are_counted_with_table_and_row(tmp_path: Path) -> None:
    good = _triple()
    bad = (("Z" * 64, _hex(20).upper(), _hex(16).upper(), "00000000", "broken.dll", 5, 9))
    path = _rds_minimal(tmp_path / "rds.db", [(good, "ok.dll", 1, [1])], extra_rows=[bad])
    reader = read_hashset(path)
    entries = list(reader)
    assert [e.sha256 for e in entries] == [good[0]]
    assert reader.error_count == 1
    message = str(reader.errors[0])
    assert "FILE row" in message and "SHA-256" in message and "ZZZZ" in message


def test_sqlite_that_is_not_an_rds_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "contacts.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO people VALUES ('Alice Example', '+1 202-555-0101')")
    conn.commit()
    conn.close()
    with pytest.raises(HashSetError) as info:
        detect_hashset_format(path)
    assert "contacts.db" in str(info.value) and "not an NSRL RDS" in str(info.value)
    assert "people" in str(info.value)  # says what it found instead


def test_corrupt_sqlite_is_refused_naming_the_file(tmp_path: Path) -> None:
    garbage = _write(tmp_path, "garbage.db", b"SQLite format 3\x00" + bytes(range(256)) * 40)
    with pytest.raises(HashSetError, match=r"garbage\.db: corrupt or unreadable SQLite"):
        detect_hashset_format(garbage)
    files = [(_triple(), f"f{i}.dll", i, [i % 7 + 1]) for i in range(4000)]
    whole = _rds_minimal(tmp_path / "whole.db", files).read_bytes()
    cut = _write(tmp_path, "cut.db", whole[: len(whole) // 3])  # an interrupted copy
    with pytest.raises(HashSetError, match=r"cut\.db: corrupt"):
        list(read_hashset(cut))
    # Damaged in the middle: the schema reads, the scan does not -> an error, not a partial set.
    # The whole middle half, so the damage reaches the FILE table's pages and its primary-key
    # index's alike whichever way random hashes interleaved them (8 KiB sometimes hit only one).
    damaged = bytearray(whole)
    damaged[len(whole) // 4:3 * len(whole) // 4] = b"\xff" * (3 * len(whole) // 4 - len(whole) // 4)
    mangled = _write(tmp_path, "mangled.db", bytes(damaged))
    assert detect_hashset_format(mangled) == HashSetFormat.RDS_SQLITE
    with pytest.raises(HashSetError, match=r"mangled\.db: corrupt NSRL RDS database"):
        list(read_hashset(mangled))


def test_headerless_flat_files_written_from_an_rds(tmp_path: Path) -> None:
    """``sqlite3 RDS.db "SELECT * FROM FILE"`` (pipe separated, no header) and the v2-style
    NSRLFile rows tools rebuild from v3 (``sha1,md5,crc32,name,size,product,os,special``)."""
    a, b = _triple(), _triple()
    pipe = _write(tmp_path, "file_export.txt",
                  f"{a[0].upper()}|{a[1].upper()}|{a[2].upper()}|1A2B3C4D|setup.exe|4096|12\n"
                  f"{b[0].upper()}|{b[1].upper()}|{b[2].upper()}|00000000|empty.txt|0|13\n")
    assert detect_hashset_format(pipe) == HashSetFormat.RDS_CSV
    reader = read_hashset(pipe)
    entries = list(reader)
    assert [(e.sha256, e.sha1, e.md5, e.file_name, e.size) for e in entries] == [
        (a[0], a[1], a[2], "setup.exe", 4096), (b[0], b[1], b[2], "empty.txt", 0)]
    assert entries[0].properties == {"crc32": "1A2B3C4D", "package_id": "12"}
    assert reader.known_good and reader.error_count == 0
    v2 = _write(tmp_path, "NSRLFile-body.txt",
                f'"{a[1].upper()}","{a[2].upper()}","1A2B3C4D","setup.exe",4096,12,"0",""\n')
    assert detect_hashset_format(v2) == HashSetFormat.NSRL_CSV
    entries = list(read_hashset(v2))
    assert [(e.sha1, e.md5, e.file_name, e.size) for e in entries] == [(a[1], a[2], "setup.exe", 4096)]


def test_nsrl_v2_csv_is_marked_known_good_like_v3(tmp_path: Path) -> None:
    a = _triple()
    path = _write(tmp_path, "NSRLFile.txt",
                  '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
                  f'"{a[1].upper()}","{a[2].upper()}","00000000","A.TXT",1,1,"WIN",""\n')
    assert read_hashset(path).known_good is True
    other = _write(tmp_path, "list.md5", f"{a[2]}  a.txt\n")
    assert read_hashset(other).known_good is False


def test_rds_sqlite_imports_through_the_service_and_hides_known_files(ws, tmp_path: Path) -> None:  # noqa: ANN001
    case = ws.create_case("2024-NSRL-01", "Seized laptop").id
    src = tmp_path / "disk"
    src.mkdir()
    (src / "wallpaper.jpg").write_bytes(gen.jpeg_bytes(320, 240, seed=5))
    (src / "photo.jpg").write_bytes(gen.jpeg_bytes(320, 240, seed=6))
    data = (src / "wallpaper.jpg").read_bytes()
    known = (hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest())
    rds = _rds_minimal(tmp_path / "RDS_2024.03.1_modern_minimal.db",
                       [(known, "wallpaper.jpg", len(data), [1, 2]), (_triple(), "other.dll", 3, [1])])
    media.ingest_media(ws, case, src, workers=1)
    res = media.import_hashset(ws, rds, kind="known_good")
    assert (res.format, res.entries, res.error_count) == ("rds_sqlite", 2, 0)
    assert res.matches >= 1 and res.alerts == 0  # one match row per hash kind that agrees
    assert [m.name for m in media.list_media(ws, case)] == ["photo.jpg"]


# --- VICS JSON: 1.x / 2.0 and the tools that write it ---------------------------------------

def test_vics_2_flat_media_list_with_file_paths_string_flags_and_photodna(tmp_path: Path) -> None:
    md5, sha1, sha256, pdq = _hex(16), _hex(20), _hex(32), _hex(32)
    doc = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
        "value": [
            {"MediaID": 1, "Category": 2, "MD5": md5.upper(), "SHA1": sha1.upper(), "MediaSize": 2048,
             "DateUpdated": "2024-01-02T03:04:05.0000Z", "IsPrecategorized": "true",
             "VictimIdentified": "False", "PhotoDNA": "QUJDREVGR0g=",
             "MediaFiles": [{"FilePath": "C:\\Users\\example\\Pictures\\holiday_001.jpg",
                             "MD5": md5.upper(), "Created": "2023-12-24T10:00:00Z"}],
             "AlternativeHashes": [{"HashName": "SHA256", "HashValue": sha256.upper()},
                                   {"HashName": "PDQ", "HashValue": pdq, "Quality": 90}]},
            {"MediaID": 2, "Category": 1, "PhotoDNA": "WFlaV1ZVVFM="},
        ],
    }
    path = _write(tmp_path, "vics2.json", json.dumps(doc, indent=1))
    reader = read_hashset(path)
    entries = list(reader)
    assert len(entries) == 1
    e = entries[0]
    assert (e.md5, e.sha1, e.sha256, e.pdq, e.pdq_quality) == (md5, sha1, sha256, pdq, 90)
    assert e.category == "2" and e.size == 2048 and e.victim_identified is False
    assert e.file_name == "holiday_001.jpg"
    assert e.properties["FilePath"] == "C:\\Users\\example\\Pictures\\holiday_001.jpg"
    assert e.properties["hash:PhotoDNA"] == "QUJDREVGR0g="  # kept, never computed
    assert e.properties["IsPrecategorized"] == "true"
    # The PhotoDNA-only record cannot be matched: skipped, and the reason says so.
    assert reader.error_count == 1 and "PhotoDNA" in reader.errors[0].message


def test_vics_media_nested_in_cases_wrappers(tmp_path: Path) -> None:
    a, b, c = _hex(16), _hex(16), _hex(16)
    wrapped = {"Cases": [{"CaseNumber": "2024-001", "SourceApplicationName": "Example Tool",
                          "Media": [{"MediaID": 1, "Category": 1, "MD5": a}]}]}
    entries = list(read_hashset(_write(tmp_path, "cases.json", json.dumps(wrapped)), "vics_json"))
    assert [(x.md5, x.category) for x in entries] == [(a, "1")]
    single = {"@odata.context": "x/2.0.xml/$metadata#Cases",
              "value": [{"Case": {"CaseNumber": "2024-002", "Media": [{"MD5": b, "Category": 3},
                                                                     {"MD5": c, "Category": 0}]}}]}
    entries = list(read_hashset(_write(tmp_path, "case.json", json.dumps(single))))
    assert [(x.md5, x.category) for x in entries] == [(b, "3"), (c, "0")]


def test_caid_and_tool_exports_casing_and_field_variants(tmp_path: Path) -> None:
    md5, sha1, sha256 = _hex(16), _hex(20), _hex(32)
    md5_b = _hex(16)
    doc = {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/$metadata#Media",
           "value": [
               {"mediaID": 10, "category": {"CategoryID": 2, "Name": "Category B"}, "md5Hash": md5,
                "SHA-1": sha1, "isDistributed": "yes",
                "mediaFiles": [{"fileName": "x.jpg", "MD5Hash": md5}],
                "alternativeHashes": {"SHA-256": sha256, "PhotoDna": "AAAA"}},
               {"MEDIAID": 11, "CATEGORY": "A",
                "MEDIA_FILES": [{"Name": "y.png", "Md5": md5_b.upper(), "Size": 77}],
                "AlternativeHashes": [{"Algorithm": "MD5", "Hash": md5_b}]},
           ]}
    path = _write(tmp_path, "caid_export.json", json.dumps(doc))
    reader = read_hashset(path)
    entries = list(reader)
    assert reader.error_count == 0
    first, second = entries
    assert (first.md5, first.sha1, first.sha256, first.category) == (md5, sha1, sha256, "2")
    assert first.is_distributed is True and first.file_name == "x.jpg"
    assert first.properties["hash:PhotoDNA"] == "AAAA" and "md5Hash" not in first.properties
    assert (second.md5, second.category, second.file_name) == (md5_b, "A", "y.png")


def test_json_with_no_media_records_is_not_a_silent_empty_set(tmp_path: Path) -> None:
    path = _write(tmp_path, "list.json", json.dumps({"value": [{"Name": "x", "Count": 3}]}))
    with pytest.raises(HashSetError) as info:
        list(read_hashset(path))
    assert "list.json" in str(info.value) and "no VICS media records" in str(info.value)


def test_vics_with_trailing_garbage_after_the_document_is_an_error(tmp_path: Path) -> None:
    md5 = _hex(16)
    text = json.dumps({"value": [{"MD5": md5, "Category": 1}]}) + '\n{"value": [{"MD5": "'
    path = _write(tmp_path, "concatenated.json", text)
    with pytest.raises(HashSetError) as info:
        list(read_hashset(path))
    assert "concatenated.json" in str(info.value) and info.value.line == 2


# --- sum lists and EnCase-style exports --------------------------------------------------------

def test_sum_list_text_mode_name_starting_with_a_star(tmp_path: Path) -> None:
    """coreutils: '<hash> ' then ' ' (text) or '*' (binary), then the name verbatim."""
    a, b = _hex(32), _hex(32)
    path = _write(tmp_path, "SHA256SUMS", f"{a}  *starred name.jpg\n{b} *binary.jpg\n")
    entries = list(read_hashset(path))
    assert [(e.sha256, e.file_name) for e in entries] == [(a, "*starred name.jpg"), (b, "binary.jpg")]


def test_encase_style_export_with_sha1_value_and_logical_size(tmp_path: Path) -> None:
    md5, sha1 = _hex(16), _hex(20)
    text = ("Name\tHash Value\tSHA1 Value\tLogical Size\tFull Path\r\n"
            f"report.docx\t{md5}\t{sha1}\t12,345\tCase\\C\\Users\\example\\report.docx\r\n"
            "Folder\t\t\t0\tCase\\C\\Users\r\n")
    path = _write(tmp_path, "entries.txt", text.encode("utf-16"))
    reader = read_hashset(path)
    entries = list(reader)
    assert [(e.md5, e.sha1, e.file_name, e.size) for e in entries] == [(md5, sha1, "report.docx", 12345)]
    assert entries[0].properties == {"Full Path": "Case\\C\\Users\\example\\report.docx"}
    assert reader.error_count == 1 and reader.errors[0].line == 3  # the folder row has no hash


def test_an_nsrl_set_defaults_to_known_good_and_is_never_known_bad(ws, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """Imported without a kind (CLI default, the UI's first choice), an NSRL reference set
    hides the system files it lists instead of raising an alert on every one; asked for as
    known bad it is refused (exit 2) with nothing stored; other sets stay known bad."""
    from workstation.cli import main
    from workstation.errors import UsageError

    case = ws.create_case("2024-NSRL-02", "Seized laptop").id
    src = tmp_path / "disk"
    src.mkdir()
    (src / "wallpaper.jpg").write_bytes(gen.jpeg_bytes(320, 240, seed=7))
    data = (src / "wallpaper.jpg").read_bytes()
    known = (hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest())
    rds = _rds_minimal(tmp_path / "RDS_2024.03.1_modern_minimal.db", [(known, "wallpaper.jpg", len(data), [1])])
    media.ingest_media(ws, case, src, workers=1)
    with pytest.raises(UsageError, match="NSRL reference set"):
        media.import_hashset(ws, rds, kind="known_bad")
    assert media.list_hashsets(ws) == []
    res = media.import_hashset(ws, rds)
    assert (res.kind, res.alerts) == ("known_good", 0)
    assert media.list_media(ws, case) == []
    bad = _write(tmp_path, "watch.md5", f"{_hex(16)}  x.jpg\n")
    assert media.import_hashset(ws, bad, match=False).kind == "known_bad"
    db = ws.db.path
    ws.db.lock()
    rds2 = _rds_minimal(tmp_path / "RDS_2024.06.1_modern_minimal.db", [(_triple(), "b.dll", 3, [1])])
    pp = tmp_path / "pp"
    pp.write_text(PASSPHRASE, encoding="utf-8")
    code = main(["--db", str(db), "--passphrase-file", str(pp), "hashset", "import", str(rds2), "--kind", "known_bad"])
    assert code == 2 and "NSRL reference set" in capsys.readouterr().err
