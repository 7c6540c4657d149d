"""Entity resolution inside a case: duplicate suggestions and personas.

* :func:`suggest_duplicates` proposes entities of one case that are probably the same
  thing: entities with the same identifier key (an import that did not reuse), and people
  whose names agree (rapidfuzz ``token_sort_ratio`` on :func:`identifiers.person_name_key`
  ≥ 90) *and* whose dates of birth agree or who are linked to the same identifier.
  Differing dates of birth rule a pair out; a similar name alone is not suggested.
  Merging stays the officer's decision (``Workstation.merge_entities``, with a
  justification; it refuses entities of different kinds and can be undone).
* A **persona** is the officer's statement that several accounts (online accounts, and
  e-mail addresses or phones used as handles) belong to one unknown person. It is stored
  with the ordinary service calls, no schema of its own: a ``person`` entity whose
  properties carry ``persona: true``, the confidence and the justification, and a
  ``uses`` link with that confidence from the persona to each account.

Thread-safety: reads use ``ws.db.read()``; writes go through the Workstation service
(each call its own audited transaction).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from workstation.analysis.matching import DEFAULT_NAME_THRESHOLD, _survivors, dob_agreement, name_key
from workstation.errors import NotFound, UsageError

__all__ = ["DuplicateSuggestion", "Persona", "create_persona", "list_personas", "suggest_duplicates"]

PERSONA_ACCOUNT_KINDS = frozenset({"account", "email", "phone"})
_ROW_BLOCK = 512


@dataclass(frozen=True)
class DuplicateSuggestion:
    """Entities of one case that are probably one. ``reason`` explains why in a sentence,
    ``score`` is 0–1 (1 = same key), ``basis`` is 'same_key', 'person_dob' or
    'person_identifier'."""

    entity_ids: tuple[int, ...]
    reason: str
    score: float
    case_id: int = 0
    basis: str = ""


@dataclass(frozen=True)
class Persona:
    """Accounts believed to be one person, as recorded by an officer."""

    entity_id: int
    case_id: int
    label: str
    confidence: float
    justification: str
    account_ids: tuple[int, ...]
    link_ids: tuple[int, ...]


# ====================================================================== duplicates
def suggest_duplicates(ws: Any, case_id: int | None = None, *,
                       name_threshold: int = DEFAULT_NAME_THRESHOLD) -> list[DuplicateSuggestion]:
    """Duplicate candidates in ``case_id`` (every live case when None), best first.

    Merged and tombstoned entities are left out. Raises NotFound for an unknown case.
    """
    if not 0 <= name_threshold <= 100:
        raise UsageError("the name threshold must be between 0 and 100")
    out: list[DuplicateSuggestion] = []
    with ws.db.read() as conn:
        if case_id is not None:
            ok = conn.execute(text('SELECT 1 FROM "case" WHERE id = :c AND deleted = 0'), {"c": case_id}).first()
            if ok is None:
                raise NotFound(f"no case with id {case_id}")
        scope = "e.case_id = :c" if case_id is not None else 'e.case_id IN (SELECT id FROM "case" WHERE deleted = 0)'
        params = {"c": case_id} if case_id is not None else {}
        out.extend(_same_key(conn, scope, params))
        out.extend(_similar_people(conn, scope, params, name_threshold))
    out.sort(key=lambda d: (-d.score, d.case_id, d.entity_ids))
    return out


def _same_key(conn: Connection, scope: str, params: dict[str, Any]) -> list[DuplicateSuggestion]:
    rows = conn.execute(text(
        "SELECT e.case_id, e.key, group_concat(e.id) AS ids, min(e.label) AS label, min(e.kind) AS kind "
        f"FROM entity AS e WHERE {scope} AND e.key IS NOT NULL AND e.deleted = 0 AND e.merged_into IS NULL "
        "GROUP BY e.case_id, e.key HAVING count(*) > 1"), params).fetchall()
    out = []
    for r in rows:
        ids = tuple(sorted(int(x) for x in str(r.ids).split(",")))
        out.append(DuplicateSuggestion(
            ids, f"{len(ids)} {r.kind} entities have the same normalised value {r.label} ({r.key})",
            1.0, int(r.case_id), "same_key"))
    return out


def _linked_keys(conn: Connection, scope: str, params: dict[str, Any]) -> dict[int, dict[str, str]]:
    """person id -> {identifier key: label} of the keyed entities linked to it (either way)."""
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for col_p, col_o in (("src_id", "dst_id"), ("dst_id", "src_id")):
        rows = conn.execute(text(
            f"SELECT l.{col_p} AS pid, o.key AS key, o.label AS label FROM link AS l "
            f"JOIN entity AS e ON e.id = l.{col_p} JOIN entity AS o ON o.id = l.{col_o} "
            f"WHERE {scope} AND e.kind = 'person' AND l.deleted = 0 AND o.deleted = 0 AND o.key IS NOT NULL"),
            params).fetchall()
        for r in rows:
            out[int(r.pid)][r.key] = r.label
    return out


def _similar_people(conn: Connection, scope: str, params: dict[str, Any], threshold: int) -> list[DuplicateSuggestion]:
    from rapidfuzz import fuzz, process

    rows = conn.execute(text(
        "SELECT e.id, e.case_id, e.label, json_extract(e.properties, '$.dob') AS dob FROM entity AS e "
        f"WHERE {scope} AND e.kind = 'person' AND e.deleted = 0 AND e.merged_into IS NULL "
        "ORDER BY e.case_id, e.id"), params).fetchall()
    by_case: dict[int, list[tuple[Any, str]]] = defaultdict(list)
    for r in rows:
        k = name_key(r.label)
        if k:
            by_case[int(r.case_id)].append((r, k))
    if not any(len(v) > 1 for v in by_case.values()):
        return []
    keys_of = _linked_keys(conn, scope, params)
    out: list[DuplicateSuggestion] = []
    for cid, people in by_case.items():
        if len(people) < 2:
            continue
        names = [k for _, k in people]
        for lo in range(0, len(names), _ROW_BLOCK):
            block = process.cdist(names[lo:lo + _ROW_BLOCK], names, scorer=fuzz.token_sort_ratio,
                                  score_cutoff=threshold, dtype=np.uint8, workers=-1)
            for bi, j in zip(*np.nonzero(block >= threshold), strict=True):
                i = lo + int(bi)
                j = int(j)
                if j <= i:
                    continue
                a, b = people[i][0], people[j][0]
                score = float(block[bi, j]) / 100.0
                agree = dob_agreement(a.dob, b.dob)
                if agree is False:
                    continue
                shared = sorted(set(keys_of.get(int(a.id), {})) & set(keys_of.get(int(b.id), {})))
                names_txt = f"similar names {a.label!r} / {b.label!r} ({score * 100:.0f}/100)"
                if agree:
                    reason = f"{names_txt} and the same date of birth ({a.dob} / {b.dob})"
                    basis = "person_dob"
                    final = score
                    if shared:
                        reason += f", both linked to {_labels(keys_of, int(a.id), shared)}"
                elif shared:
                    reason = f"{names_txt}, both linked to {_labels(keys_of, int(a.id), shared)}"
                    basis = "person_identifier"
                    final = score * 0.9
                else:
                    continue
                out.append(DuplicateSuggestion((int(a.id), int(b.id)), reason, round(final, 4), cid, basis))
    return out


def _labels(keys_of: dict[int, dict[str, str]], pid: int, keys: Sequence[str]) -> str:
    shown = [f"{k.split(':', 1)[0]} {keys_of[pid].get(k, k)}" for k in keys[:3]]
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return ", ".join(shown) + more


# ====================================================================== personas
def create_persona(ws: Any, account_ids: Sequence[int], label: str, confidence: float,
                   justification: str) -> Persona:
    """Record that the accounts ``account_ids`` (account, e-mail or phone entities of one
    case) are believed to be one person called ``label``, with ``confidence`` (0–1) and a
    written ``justification``. Merged accounts are represented by their survivor.

    Raises UsageError for an empty label/justification, a confidence outside 0–1, no
    accounts, accounts of other kinds or of several cases; NotFound for a missing account.
    """
    label = (label or "").strip()
    justification = (justification or "").strip()
    if not label:
        raise UsageError("a persona needs a label")
    if not justification:
        raise UsageError("a persona needs a written justification")
    try:
        conf = float(confidence)
    except (TypeError, ValueError):
        raise UsageError(f"confidence must be a number between 0 and 1, got {confidence!r}") from None
    if not 0.0 <= conf <= 1.0:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence!r}")
    ids = list(dict.fromkeys(int(a) for a in account_ids))
    if not ids:
        raise UsageError("a persona needs at least one account")
    with ws.db.read() as conn:
        surv = _survivors(conn, ids)
        missing = [i for i in ids if surv.get(i) is None]
        if missing:
            raise NotFound(f"no entity with id {missing[0]}")
        resolved = list(dict.fromkeys(int(surv[i]) for i in ids))  # type: ignore[arg-type]
        marks = ", ".join(str(i) for i in resolved)
        rows = {int(r.id): r for r in conn.execute(text(
            f"SELECT id, case_id, kind, label FROM entity WHERE id IN ({marks})"))}
    wrong = [rows[i] for i in resolved if rows[i].kind not in PERSONA_ACCOUNT_KINDS]
    if wrong:
        w = wrong[0]
        raise UsageError(f"entity {w.id} ({w.kind} {w.label}) is not an account: a persona links accounts, "
                         f"e-mail addresses or phones")
    cases = {int(rows[i].case_id) for i in resolved}
    if len(cases) > 1:
        raise UsageError("the accounts of a persona must belong to one case")
    case_id = cases.pop()
    person = ws.add_entity(case_id, "person", label, properties={
        "persona": True, "persona_confidence": conf, "persona_justification": justification})
    link_ids: list[int] = []
    try:
        for aid in resolved:
            ch = ws.add_link(person.id, aid, "uses", confidence=conf,
                             properties={"persona": True, "justification": justification})
            link_ids.append(ch.id)
    except BaseException:
        # Leave no half persona behind; the tombstones and audit entries tell what happened.
        for lid in link_ids:
            try:
                ws.delete_link(lid)
            except Exception:  # noqa: BLE001 - best effort while reporting the first error
                pass
        try:
            ws.delete_entity(person.id)
        except Exception:  # noqa: BLE001
            pass
        raise
    return Persona(person.id, case_id, label, conf, justification, tuple(resolved), tuple(link_ids))


def list_personas(ws: Any, case_id: int) -> list[Persona]:
    """The personas of a case (live), with their live 'uses' links, in creation order."""
    with ws.db.read() as conn:
        ok = conn.execute(text('SELECT 1 FROM "case" WHERE id = :c AND deleted = 0'), {"c": case_id}).first()
        if ok is None:
            raise NotFound(f"no case with id {case_id}")
        people = conn.execute(text(
            "SELECT id, label, json_extract(properties, '$.persona_confidence') AS conf, "
            "json_extract(properties, '$.persona_justification') AS why FROM entity "
            "WHERE case_id = :c AND kind = 'person' AND deleted = 0 AND merged_into IS NULL "
            "AND json_extract(properties, '$.persona') = 1 ORDER BY id"), {"c": case_id}).fetchall()
        out: list[Persona] = []
        for p in people:
            links = conn.execute(text(
                "SELECT l.id, l.dst_id FROM link AS l JOIN entity AS a ON a.id = l.dst_id "
                "WHERE l.src_id = :p AND l.kind = 'uses' AND l.deleted = 0 AND a.deleted = 0 ORDER BY l.id"),
                {"p": p.id}).fetchall()
            out.append(Persona(int(p.id), case_id, p.label, float(p.conf if p.conf is not None else 1.0),
                               p.why or "", tuple(int(r.dst_id) for r in links), tuple(int(r.id) for r in links)))
    return out
