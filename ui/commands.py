"""Undoable edits: each a QUndoCommand whose work runs on the ``edit`` lane.

Undo of a create is a delete (a tombstone, as every delete); undo of a delete brings the
record back with ``Workstation.restore(table, id)``: the tombstone is lifted, so the record
keeps its id (and its uid, so sync sees one record), and the links its delete removed come
back too. Only a core without ``restore`` (older versions) makes ``bring_back`` re-create
the record from the snapshot taken before the delete (a new id, remembered through
``Session.remap`` so later commands still find it); a case cannot be re-created that way
(its number stays taken by the tombstone).

Every command is executed once through ``execute()`` before it is pushed, so a refused
edit (bad phone number, empty title) is reported and never lands on the stack; the stack's
own first ``redo()`` is then skipped. Later undo/redo calls queue on the edit lane, which
runs them one at a time in order.

Thread: commands are created and pushed on the UI thread; ``work_redo``/``work_undo``
run on the edit-lane worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtGui import QUndoCommand

from workstation.domain.models import Changes, EntityInfo, EventInfo, LinkInfo, NoteInfo
from workstation.domain.service import Workstation
from workstation.errors import UsageError
from ui.session import Session

Resolve = Callable[[str, int], int]
CreateFn = Callable[[Workstation, Resolve], Changes]


class ServiceCommand(QUndoCommand):
    """Base: ``work_redo``/``work_undo`` do the service calls and return Changes."""

    def __init__(self, session: Session, text: str) -> None:
        super().__init__(text)
        self.session = session
        self._skip_redo = False

    # The stack calls these on the UI thread; the work goes to the edit lane.
    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.session.mutate(self.work_redo, title=f"Redo {self.text()}")

    def undo(self) -> None:
        self.session.mutate(self.work_undo, title=f"Undo {self.text()}")

    def work_redo(self, ws: Workstation) -> list[Changes]:  # pragma: no cover - abstract
        raise NotImplementedError

    def work_undo(self, ws: Workstation) -> list[Changes]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def pushable(self) -> bool:
        """False when the first run turned out to change nothing (e.g. an existing entity)."""
        return True


def execute(session: Session, command: ServiceCommand,
            on_done: Callable[[ServiceCommand], None] | None = None,
            on_error: Callable[[BaseException, str], None] | None = None) -> None:
    """Run ``command`` once; push it on the undo stack only if it succeeded. Thread: UI."""

    def done(_result: Any) -> None:
        if command.pushable:
            command._skip_redo = True
            session.undo_stack.push(command)
        if on_done is not None:
            on_done(command)

    session.mutate(command.work_redo, title=command.text(), on_done=done, on_error=on_error)


# ---------------------------------------------------------------------- restore helpers
def _delete(ws: Workstation, table: str, record_id: int) -> Changes:
    return {"case": ws.delete_case, "entity": ws.delete_entity, "event": ws.delete_event,
            "link": ws.delete_link, "note": ws.delete_note}[table](record_id)


def core_can_restore(ws: Workstation, table: str) -> bool:
    """Whether the core can un-tombstone a ``table`` record (else undo re-creates it)."""
    return callable(getattr(ws, f"restore_{table}", None)) or callable(getattr(ws, "restore", None))


def core_restore(ws: Workstation, table: str, record_id: int) -> Changes | None:
    """Un-tombstone through the core when it can; None when the core has no restore."""
    specific = getattr(ws, f"restore_{table}", None)
    if callable(specific):
        return specific(record_id)
    generic = getattr(ws, "restore", None)
    if callable(generic):
        return generic(table, record_id)
    return None


@dataclass
class Snapshot:
    """What a deleted record looked like, enough to re-create it."""

    table: str
    record: Any
    links: tuple[LinkInfo, ...] = ()


def take_snapshot(ws: Workstation, table: str, record_id: int, case_id: int | None = None) -> Snapshot:
    """Read what is needed to re-create the record later (links and notes need their case)."""
    if table == "entity":
        return Snapshot(table, ws.get_entity(record_id), tuple(ws.list_links(entity_id=record_id)))
    if table == "event":
        return Snapshot(table, ws.get_event(record_id))
    if table == "case":
        return Snapshot(table, ws.get_case(record_id))
    if table in ("link", "note") and case_id is not None:
        rows: list[Any] = (ws.list_links(case_id=case_id) if table == "link" else ws.list_notes(case_id))
        found = next((x for x in rows if x.id == record_id), None)
        if found is not None:
            return Snapshot(table, found)
    raise UsageError(f"no {table} with id {record_id}")


def recreate(ws: Workstation, session: Session, snap: Snapshot) -> list[Changes]:
    """Re-create a deleted record (and the links its delete removed) from ``snap``."""
    r = session.resolve
    rec = snap.record
    out: list[Changes] = []
    if snap.table == "entity":
        e: EntityInfo = rec
        ch = ws.add_entity(e.case_id, e.kind, e.label, label=e.label, properties=dict(e.properties),
                           source_id=e.source_id, source_ref=e.source_ref, reuse=False)
        session.remap("entity", e.id, ch.id)
        out.append(ch)
        for lk in snap.links:
            src = ch.id if r("entity", lk.src_id) == ch.id else r("entity", lk.src_id)
            dst = ch.id if r("entity", lk.dst_id) == ch.id else r("entity", lk.dst_id)
            lch = ws.add_link(src, dst, lk.kind, confidence=lk.confidence,
                              properties=dict(lk.properties), source_id=lk.source_id,
                              source_ref=lk.source_ref)
            session.remap("link", lk.id, lch.id)
            out.append(lch)
    elif snap.table == "event":
        ev: EventInfo = rec
        ch = ws.add_event(ev.case_id, ev.kind, ev.occurred_at, title=ev.title, body=ev.body,
                          properties=dict(ev.properties),
                          parties=[(r("entity", p.entity_id), p.role) for p in ev.parties],
                          source_id=ev.source_id, source_ref=ev.source_ref)
        session.remap("event", ev.id, ch.id)
        out.append(ch)
    elif snap.table == "link":
        link: LinkInfo = rec
        ch = ws.add_link(r("entity", link.src_id), r("entity", link.dst_id), link.kind,
                         confidence=link.confidence, properties=dict(link.properties),
                         source_id=link.source_id, source_ref=link.source_ref)
        session.remap("link", link.id, ch.id)
        out.append(ch)
    elif snap.table == "note":
        n: NoteInfo = rec
        tid = r(n.target_type, n.target_id) if n.target_type and n.target_id is not None else None
        ch = ws.add_note(n.case_id, n.body, target_type=n.target_type, target_id=tid)
        session.remap("note", n.id, ch.id)
        out.append(ch)
    else:
        raise UsageError(
            f"this version cannot bring back a deleted {snap.table}: the database keeps its "
            "number reserved (a restore function is needed in the core)")
    return out


def bring_back(ws: Workstation, session: Session, snap: Snapshot, current_id: int,
               extra_links: Sequence[int] = ()) -> list[Changes]:
    """Undo a delete: core restore when available (with the links it removed), else re-create."""
    restored = core_restore(ws, snap.table, current_id)
    if restored is None:
        return recreate(ws, session, snap)
    out = [restored]
    for link_id in extra_links:
        again = core_restore(ws, "link", session.resolve("link", link_id))
        if again is not None:
            out.append(again)
    return out


# ---------------------------------------------------------------------- commands
class CreateCommand(ServiceCommand):
    """Create a case/entity/event/link/note; undo deletes it (tombstone); redo restores."""

    def __init__(self, session: Session, table: str, text: str, create: CreateFn) -> None:
        super().__init__(session, text)
        self.table = table
        self._create = create
        self.created_id: int | None = None
        self.existing = False
        self.case_id: int | None = None
        self._snapshot: Snapshot | None = None

    @property
    def pushable(self) -> bool:
        if self.existing:
            return False
        if self.table == "case" and not self.session.is_locked:
            # A case cannot be re-created under its number: without the core's restore an
            # undone case creation could never be redone, so it is not offered for undo.
            return core_can_restore(self.session.ws, "case")
        return True

    @property
    def current_id(self) -> int | None:
        return None if self.created_id is None else self.session.resolve(self.table, self.created_id)

    def work_redo(self, ws: Workstation) -> list[Changes]:
        if self.created_id is None:
            ch = self._create(ws, self.session.resolve)
            if ch.op == "existing":
                self.existing = True
            self.created_id = ch.id
            self.case_id = ch.case_id
            return [ch]
        assert self._snapshot is not None
        return bring_back(ws, self.session, self._snapshot, self.current_id or self.created_id)

    def work_undo(self, ws: Workstation) -> list[Changes]:
        rid = self.current_id
        if rid is None:
            return []
        self._snapshot = take_snapshot(ws, self.table, rid, self.case_id)
        return [_delete(ws, self.table, rid)]


class DeleteCommand(ServiceCommand):
    """Delete (tombstone) one record; undo brings it back."""

    def __init__(self, session: Session, table: str, record_id: int, text: str,
                 case_id: int | None = None) -> None:
        super().__init__(session, text)
        self.table = table
        self.record_id = record_id
        self.case_id = case_id
        self._snapshot: Snapshot | None = None
        self._links: tuple[int, ...] = ()

    def work_redo(self, ws: Workstation) -> list[Changes]:
        rid = self.session.resolve(self.table, self.record_id)
        self._snapshot = take_snapshot(ws, self.table, rid, self.case_id)
        ch = _delete(ws, self.table, rid)
        self._links = tuple(ch.extra.get("links", ())) if ch.extra else ()
        return [ch]

    def work_undo(self, ws: Workstation) -> list[Changes]:
        assert self._snapshot is not None
        rid = self.session.resolve(self.table, self.record_id)
        return bring_back(ws, self.session, self._snapshot, rid, self._links)


class UpdateCommand(ServiceCommand):
    """Change fields of a case/entity/event/note; undo writes the old values back.

    ``before``/``after`` map field → value; for events ``occurred_at`` may be among them.
    """

    def __init__(self, session: Session, table: str, record_id: int, before: Mapping[str, Any],
                 after: Mapping[str, Any], text: str) -> None:
        super().__init__(session, text)
        self.table = table
        self.record_id = record_id
        self.before = dict(before)
        self.after = dict(after)

    def _apply(self, ws: Workstation, values: Mapping[str, Any]) -> list[Changes]:
        rid = self.session.resolve(self.table, self.record_id)
        if self.table == "case":
            return [ws.update_case(rid, **values)]
        if self.table == "entity":
            return [ws.update_entity(rid, **values)]
        if self.table == "event":
            fields = dict(values)
            if "occurred_at" in fields:
                when: datetime | None = fields.pop("occurred_at")
                return [ws.update_event(rid, occurred_at=when, **fields)]
            return [ws.update_event(rid, **fields)]
        if self.table == "note":
            return [ws.update_note(rid, values["body"])]
        raise UsageError(f"cannot edit a {self.table}")

    def work_redo(self, ws: Workstation) -> list[Changes]:
        return self._apply(ws, self.after)

    def work_undo(self, ws: Workstation) -> list[Changes]:
        return self._apply(ws, self.before)


class MacroCommand(ServiceCommand):
    """Several commands as one undo step (e.g. deleting ten selected rows)."""

    def __init__(self, session: Session, text: str, commands: Sequence[ServiceCommand]) -> None:
        super().__init__(session, text)
        self.commands = list(commands)

    def work_redo(self, ws: Workstation) -> list[Changes]:
        out: list[Changes] = []
        for cmd in self.commands:
            out.extend(cmd.work_redo(ws))
        return out

    def work_undo(self, ws: Workstation) -> list[Changes]:
        out: list[Changes] = []
        for cmd in reversed(self.commands):
            out.extend(cmd.work_undo(ws))
        return out


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as (before, after) dicts."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
