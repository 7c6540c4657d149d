"""Hash-set readers on the Sleuth Kit samples and on synthetic files of every format."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from workstation.media.errors import HashSetError
from workstation.media.hashing import hash_file
from workstation.media.hashsets import (HashSetEntry, HashSetFormat, detect_hashset_format,
                                        read_hashset, write_vics_json)

MD5_A = "d41d8cd98f00b204e9800998ecf8427e"
SHA1_A = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256_A = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MD5_B = "0cc175b9c0f1b6a831c399e269772661"
SHA1_B = "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
SHA256_B = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_B = "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def _read(path: Path, fmt: str | None = None) -> tuple[list[HashSetEntry], object]:
    reader = read_hashset(path, fmt)
    return list(reader), reader


# --- the Sleuth Kit samples --------------------------------------------------------------

def test_testmd5_dat(shared_data: Path) -> None:
    path = shared_data / "hashsets/testmd5.dat"
    assert detect_hashset_format(path) == HashSetFormat.HASH_LIST
    entries, reader = _read(path)
    assert len(entries) == 28 and reader.error_count == 0
    by_md5 = {e.md5: e for e in entries}
    assert by_md5["bd3e22ee541712202db9343c9dd89474"].file_name == "hfind.exe"
    assert by_md5["866823fb29c0bf5d8dbc35e1cf14c2d9"].file_name == "blkcalc.exe"
    assert all(e.sha1 is None and e.sha256 is None for e in entries)
    bridge = hash_file(shared_data / "pdq/reg-test-input/dih/bridge-1-original.jpg").md5
    assert bridge == "d35c785545392755e7e4164457657269"
    assert bridge not in by_md5  # negative lookup


def test_sleuthkit_idx_resolves_names_and_offsets(shared_data: Path) -> None:
    idx = shared_data / "hashsets/testmd5.dat-md5.idx"
    assert detect_hashset_format(idx) == HashSetFormat.TSK_IDX
    entries, reader = _read(idx)
    assert len(entries) == 28 and reader.error_count == 0
    assert reader.metadata == {"database_type": "md5sum", "database": "testmd5.dat"}
    dat = (shared_data / "hashsets/testmd5.dat").read_bytes()
    names = {e.md5: e.file_name for e in _read(shared_data / "hashsets/testmd5.dat")[0]}
    for entry in entries:
        offset = entry.properties["offset"]
        assert dat[offset:offset + 32].decode() == entry.md5  # the offset points at its line
        assert entry.file_name == names[entry.md5]
    assert [e.md5 for e in entries] == sorted(e.md5 for e in entries)


# --- sum lists -----------------------------------------------------------------------------

def test_sum_lists_every_variant(tmp_path: Path) -> None:
    text = (
        "# exported by a forensic tool\r\n"
        f"{MD5_A.upper()} *empty.bin\r\n"
        f"{SHA1_B}  a.txt\r\n"
        f"{SHA256_A}  dir/with spaces/file name.jpg\r\n"
        "\r\n"
        f"\\{MD5_B}  new\\nline\\\\name\r\n"
        f"MD5 (bsd style.png) = {MD5_B}\r\n"
        f"SHA256 (other.png) = {SHA256_B}\r\n"
        f"{SHA1_A}\r\n"
        "not a hash line at all\r\n"
        f"{MD5_A[:-1]}  short.bin\r\n"
    )
    path = _write(tmp_path, "set.txt", text)
    assert detect_hashset_format(path) == HashSetFormat.HASH_LIST
    entries, reader = _read(path)
    assert [(e.md5, e.sha1, e.sha256, e.file_name) for e in entries] == [
        (MD5_A, None, None, "empty.bin"),
        (None, SHA1_B, None, "a.txt"),
        (None, None, SHA256_A, "dir/with spaces/file name.jpg"),
        (MD5_B, None, None, "new\nline\\name"),
        (MD5_B, None, None, "bsd style.png"),
        (None, None, SHA256_B, "other.png"),
        (None, SHA1_A, None, None),
    ]
    assert entries[0].line == 2
    assert reader.error_count == 2
    assert [e.line for e in reader.errors] == [10, 11]
    assert "31" in reader.errors[1].message


def test_utf16_and_cp1252_lists(tmp_path: Path) -> None:
    utf16 = _write(tmp_path, "u16.txt", f"{MD5_A} *caf\u00e9.jpg\r\n".encode("utf-16"))
    entries, _ = _read(utf16)
    assert entries[0].file_name == "caf\u00e9.jpg"
    cp = _write(tmp_path, "cp.txt", f"{MD5_B} *na\u00efve.jpg\n".encode("cp1252"))
    entries, _ = _read(cp)
    assert entries[0].file_name == "na\u00efve.jpg"


def test_old_mac_line_endings(tmp_path: Path) -> None:
    path = _write(tmp_path, "cr.txt", f"{MD5_A}  a\r{MD5_B}  b\r")
    entries, _ = _read(path)
    assert [e.file_name for e in entries] == ["a", "b"]


# --- CSV ---------------------------------------------------------------------------------

def test_nsrl_legacy_csv(tmp_path: Path) -> None:
    text = (
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\r\n'
        f'"{SHA1_A.upper()}","{MD5_A.upper()}","00000000","EMPTY.TXT",0,1416,"WIN",""\r\n'
        f'"{SHA1_B.upper()}","{MD5_B.upper()}","E8B7BE43","A, B.TXT",1,1416,"358",""\r\n'
        '"NOTAHASH","","","BAD.TXT",5,1,"WIN",""\r\n'
    )
    path = _write(tmp_path, "NSRLFile.txt", text)
    assert detect_hashset_format(path) == HashSetFormat.NSRL_CSV
    entries, reader = _read(path)
    assert entries[0] == HashSetEntry(md5=MD5_A, sha1=SHA1_A, file_name="EMPTY.TXT", size=0,
                                      properties={"CRC32": "00000000", "ProductCode": "1416",
                                                  "OpSystemCode": "WIN"})
    assert entries[1].file_name == "A, B.TXT" and entries[1].size == 1
    assert reader.error_count == 1 and reader.errors[0].line == 4
    assert "SHA-1" in reader.errors[0].message


def test_rdsv3_export_csv(tmp_path: Path) -> None:
    text = ("sha256,sha1,md5,crc32,file_name,file_size,package_id\n"
            f"{SHA256_A},{SHA1_A},{MD5_A},00000000,empty.txt,0,17\n"
            f"{SHA256_B.upper()},{SHA1_B},{MD5_B},e8b7be43,a.txt,1,18\n")
    path = _write(tmp_path, "rds_export.csv", text)
    assert detect_hashset_format(path) == HashSetFormat.RDS_CSV
    entries, _ = _read(path)
    assert entries[1] == HashSetEntry(md5=MD5_B, sha1=SHA1_B, sha256=SHA256_B, file_name="a.txt",
                                      size=1, properties={"crc32": "e8b7be43", "package_id": "18"})


def test_generic_csv_with_categories_and_pipe_delimiter(tmp_path: Path) -> None:
    text = ("Hash|Name|Category|Series|Tags|Victim Identified\n"
            f"{MD5_A}|x.jpg|1|Series One|a;b|yes\n"
            f"{SHA1_B}|y.jpg|2||| \n"
            "Hash|Name|Category|Series|Tags|Victim Identified\n")
    path = _write(tmp_path, "list.psv", text)
    assert detect_hashset_format(path) == HashSetFormat.HASH_CSV
    entries, reader = _read(path)
    assert entries[0] == HashSetEntry(md5=MD5_A, file_name="x.jpg", category="1", series="Series One",
                                      tags=("a", "b"), victim_identified=True)
    assert entries[1].sha1 == SHA1_B and entries[1].category == "2"
    assert reader.error_count == 0  # the repeated header is skipped


def test_csv_without_hash_column_is_not_a_hash_set(tmp_path: Path) -> None:
    path = _write(tmp_path, "people.csv", "name,phone\nAlice,+1 202-555-0101\nBob,+44 7700 900123\n")
    with pytest.raises(HashSetError, match="people.csv"):
        detect_hashset_format(path)


# --- PDQ lists ---------------------------------------------------------------------------

def test_pdq_lists(tmp_path: Path) -> None:
    text = (f"{PDQ_A},100,bridge\n"
            f"{PDQ_B.upper()},87\n"
            f"{PDQ_A} ; 12 ; flat image\n"
            f"{PDQ_B},101\n"
            "# trailing comment\n")
    path = _write(tmp_path, "hashes.txt", text)
    assert detect_hashset_format(path) == HashSetFormat.PDQ_LIST
    entries, reader = _read(path)
    assert [(e.pdq, e.pdq_quality, e.tags) for e in entries] == [
        (PDQ_A, 100, ("bridge",)), (PDQ_B, 87, ()), (PDQ_A, 12, ("flat image",))]
    assert reader.error_count == 1 and "outside 0..100" in reader.errors[0].message


def test_bare_64_hex_is_sha256_unless_named_pdq(tmp_path: Path) -> None:
    text = f"{PDQ_A}\n{PDQ_B}\n"
    assert detect_hashset_format(_write(tmp_path, "list.txt", text)) == HashSetFormat.HASH_LIST
    assert detect_hashset_format(_write(tmp_path, "pdq_export.txt", text)) == HashSetFormat.PDQ_LIST
    entries, _ = _read(tmp_path / "list.txt", "pdq_list")  # explicit format wins
    assert entries[0].pdq == PDQ_A


def test_pdq_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "signals.csv", f"pdq_hash,quality,label\n{PDQ_A},95,x\n")
    assert detect_hashset_format(path) == HashSetFormat.PDQ_CSV
    entries, _ = _read(path)
    assert entries == [HashSetEntry(pdq=PDQ_A, pdq_quality=95, tags=("x",))]


# --- hashdeep ------------------------------------------------------------------------------

def test_hashdeep(tmp_path: Path) -> None:
    text = ("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /evidence\n"
            "## $ hashdeep -r .\n##\n"
            f"0,{MD5_A},{SHA256_A},/evidence/empty, with comma.txt\n"
            f"1,{MD5_B},{SHA256_B},/evidence/a.txt\n"
            "3,broken\n")
    path = _write(tmp_path, "audit.txt", text)
    assert detect_hashset_format(path) == HashSetFormat.HASHDEEP
    entries, reader = _read(path)
    assert entries[0] == HashSetEntry(md5=MD5_A, sha256=SHA256_A, size=0,
                                      file_name="/evidence/empty, with comma.txt")
    assert reader.error_count == 1 and reader.errors[0].line == 8


# --- VICS JSON -----------------------------------------------------------------------------

VICS_1 = {
    "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/$metadata#Media",
    "value": [
        {"MediaID": 1, "Category": 1, "MD5": MD5_A.upper(), "SHA1": SHA1_A.upper(), "MediaSize": 0,
         "VictimIdentified": True, "IsDistributed": False, "Series": "Test Series",
         "Tags": ["tag one", "tag two"], "Comments": None,
         "MediaFiles": [{"MediaFileID": 10, "FileName": "first.jpg", "MD5": MD5_A.upper()},
                        {"MediaFileID": 11, "FileName": "renamed.jpg", "MD5": MD5_A.upper()}]},
        {"MediaID": 2, "Category": "3", "md5": MD5_B, "isdistributed": "true"},
        {"MediaID": 3, "Category": 2, "MD5": "ZZZ"},
    ],
}

VICS_2 = {
    "@odata.context": "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/$metadata#Cases",
    "value": [{
        "CaseID": "c1", "CaseNumber": "2024-001",
        "Media": [
            {"MediaID": "m1", "Category": 1, "IsPrecategorized": True, "OffenderIdentified": True,
             "MediaFiles": [{"FileName": "a.jpg", "MD5": MD5_A, "SHA1": SHA1_A},
                            {"FileName": "b.jpg", "MD5": MD5_B, "SHA1": SHA1_B}],
             "AlternativeHashes": [{"HashName": "SHA-256", "HashValue": SHA256_A},
                                   {"HashName": "PDQ", "HashValue": PDQ_A, "Quality": 100},
                                   {"HashName": "PhotoDNA", "HashValue": "QUJDRA=="}]},
            {"MediaID": "m2", "Category": 0, "MD5": MD5_B, "Tags": "x, y"},
        ],
    }],
}


def test_vics_1x(tmp_path: Path) -> None:
    path = _write(tmp_path, "export.json", json.dumps(VICS_1, indent=2))
    assert detect_hashset_format(path) == HashSetFormat.VICS_JSON
    entries, reader = _read(path)
    assert entries[0] == HashSetEntry(
        md5=MD5_A, sha1=SHA1_A, category="1", series="Test Series", victim_identified=True,
        is_distributed=False, tags=("tag one", "tag two"), file_name="first.jpg", size=0,
        properties={"MediaID": 1, "Comments": None})
    assert entries[1].md5 == MD5_B and entries[1].category == "3" and entries[1].is_distributed is True
    assert len(entries) == 2
    assert reader.error_count == 1 and "MD5" in reader.errors[0].message
    assert reader.errors[0].line > entries[1].line  # the bad record's own line


def test_vics_2_nested_media_files_and_alternative_hashes(tmp_path: Path) -> None:
    path = _write(tmp_path, "export2.json", json.dumps(VICS_2))
    entries, reader = _read(path)
    assert reader.error_count == 0
    first = [e for e in entries if e.properties.get("MediaID") == "m1"]
    # No media-level MD5: each file with its own hashes is an entry of the same media.
    assert [(e.md5, e.sha1, e.file_name) for e in first] == [(MD5_A, SHA1_A, "a.jpg"), (MD5_B, SHA1_B, "b.jpg")]
    with_pdq = [e for e in first if e.pdq]
    assert with_pdq and with_pdq[0].pdq == PDQ_A and with_pdq[0].pdq_quality == 100
    assert with_pdq[0].sha256 == SHA256_A
    assert all(e.category == "1" and e.offender_identified is True for e in first)
    assert first[0].properties["hash:PhotoDNA"] == "QUJDRA=="
    assert first[0].properties["IsPrecategorized"] is True
    second = [e for e in entries if e.properties.get("MediaID") == "m2"]
    assert second == [HashSetEntry(md5=MD5_B, category="0", tags=("x", "y"), properties={"MediaID": "m2"})]


def test_vics_case_insensitive_keys_and_bare_array(tmp_path: Path) -> None:
    data = [{"md5": MD5_A, "CATEGORY": 2, "victim_identified": 0, "mediafiles": [{"filename": "q.png"}]}]
    entries, _ = _read(_write(tmp_path, "bare.json", json.dumps(data)))
    assert entries == [HashSetEntry(md5=MD5_A, category="2", victim_identified=False, file_name="q.png")]


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    text = json.dumps(VICS_1, indent=2)
    broken = text.replace('"MediaSize": 0,', '"MediaSize": 0,,', 1)
    path = _write(tmp_path, "broken.json", broken)
    with pytest.raises(HashSetError) as info:
        list(read_hashset(path))
    assert "broken.json" in str(info.value) and info.value.line is not None and info.value.line > 3


def test_json_that_is_not_vics(tmp_path: Path) -> None:
    with pytest.raises(HashSetError, match="VICS"):
        detect_hashset_format(_write(tmp_path, "conf.json", '{"window": {"width": 3}}'))


@pytest.mark.parametrize("version", ["2.0", "1.3"])
def test_vics_round_trip(tmp_path: Path, version: str) -> None:
    entries = [
        HashSetEntry(md5=MD5_A, sha1=SHA1_A, sha256=SHA256_A, pdq=PDQ_A, pdq_quality=93, category="1",
                     series="S1", victim_identified=True, offender_identified=False, is_distributed=True,
                     tags=("t1", "t2"), file_name="a.jpg", size=1234,
                     properties={"MediaID": 1, "Comments": "note", "hash:PhotoDNA": "QUJD"}),
        HashSetEntry(md5=MD5_B, category="0", properties={"MediaID": 2}),
        HashSetEntry(sha1=SHA1_B, category="A", file_name="caf\u00e9 \u5199\u771f.png", properties={"MediaID": 3}),
        HashSetEntry(pdq=PDQ_B, pdq_quality=55, properties={"MediaID": 4}),
    ]
    out = io.StringIO()
    assert write_vics_json(entries, out, version=version, case_number="2024-77") == 4
    document = json.loads(out.getvalue())  # valid JSON
    assert ("@odata.context" if version == "2.0" else "odata.metadata") in document
    path = _write(tmp_path, "rt.json", out.getvalue())
    assert detect_hashset_format(path) == HashSetFormat.VICS_JSON
    back, reader = _read(path)
    assert reader.error_count == 0
    assert back == entries


def test_vics_writer_numbers_media_without_an_id() -> None:
    out = io.StringIO()
    write_vics_json([HashSetEntry(md5=MD5_A), HashSetEntry(md5=MD5_B)], out)
    media = json.loads(out.getvalue())["value"][0]["Media"]
    assert [m["MediaID"] for m in media] == [1, 2]
    with pytest.raises(ValueError):
        write_vics_json([], io.StringIO(), version="3.0")


# --- not hash sets, streaming ------------------------------------------------------------------

def test_not_a_hash_set(tmp_path: Path) -> None:
    prose = _write(tmp_path, "letter.txt", "Dear team,\nplease find attached.\nRegards\n")
    with pytest.raises(HashSetError, match="letter.txt"):
        detect_hashset_format(prose)
    with pytest.raises(HashSetError, match="empty"):
        detect_hashset_format(_write(tmp_path, "empty.txt", ""))
    video = _write(tmp_path, "clip.mp4", bytes(range(256)) * 20_000)  # binary, hardly any newlines
    with pytest.raises(HashSetError, match="clip.mp4"):
        detect_hashset_format(video)
    garbage = _write(tmp_path, "g.txt", "\n".join(f"line {i}" for i in range(300)))
    with pytest.raises(HashSetError):
        list(read_hashset(garbage, "hash_list"))  # forced format: fails after 100 bad lines


def test_large_list_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with open(path, "w", encoding="utf-8") as stream:
        for i in range(200_000):
            stream.write(f"{i:032x}  file{i}.bin\n")
    reader = read_hashset(path)
    count = 0
    for entry in reader:
        count += 1
    assert count == 200_000 and reader.entry_count == 200_000 and entry.file_name == "file199999.bin"


def test_large_vics_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    entries = (HashSetEntry(md5=f"{i:032x}", category=str(i % 5), properties={"MediaID": i})
               for i in range(20_000))
    with open(path, "w", encoding="utf-8") as stream:
        write_vics_json(entries, stream)
    reader = read_hashset(path)
    seen = [e.md5 for e in reader]
    assert len(seen) == 20_000 and seen[-1] == f"{19_999:032x}"
