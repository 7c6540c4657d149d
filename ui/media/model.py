"""The media review grid's list model: lazy over media ids, thumbnails on demand.

The id list of the current query (one id per duplicate stack unless a stack is opened)
comes from the service on the ``read`` lane; rows are exposed in steps through
``canFetchMore``/``fetchMore``. A row's :class:`~workstation.media.service.MediaInfo` and
its protected thumbnail are fetched only when a view asks for them, in pages, on the
``read`` lane; until then the row shows a placeholder. Protected thumbnails are kept in a
bounded in-memory cache (never on disk) and dropped on lock. The clear picture is never
kept here: the widget asks the service for it on a reveal.

Thread: UI thread (the model); loads run on the read lane.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from workstation.domain.models import Changes
from workstation.domain.service import Workstation
from workstation.media import service as media
from ui.media.protect import protect
from ui.session import Session

IdRole = Qt.ItemDataRole.UserRole + 1
InfoRole = Qt.ItemDataRole.UserRole + 2
ThumbRole = Qt.ItemDataRole.UserRole + 3
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class MediaQuery:
    """What the grid lists: a case and the review filters (see ``media.media_ids``)."""

    case_id: int | None = None
    category: str | None = None
    uncategorised: bool = False
    alerts_only: bool = False
    stack_id: int | None = None
    include_known_good: bool = False


class MediaGridModel(QAbstractListModel):
    """One row per tile. Signals: ``idsLoaded(total)`` after a new id list is in place,
    ``thumbnailsLoaded(ids)`` when protected pictures arrived."""

    EXPOSE_ROWS = 400
    PAGE_ROWS = 60
    MAX_THUMBS = 800

    idsLoaded = Signal(int)
    thumbnailsLoaded = Signal(list)

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        self.query = MediaQuery()
        self.blur = session.settings.blur_thumbnails
        self.grey = session.settings.greyscale_thumbnails
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}
        self._exposed = 0
        self._infos: dict[int, media.MediaInfo] = {}
        self._pending_pages: set[int] = set()
        self._thumbs: OrderedDict[int, QImage] = OrderedDict()
        self._no_thumb: set[int] = set()
        self._wanted_thumbs: set[int] = set()
        self._pending_thumbs: set[int] = set()
        self._generation = 0
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(0)
        self._thumb_timer.timeout.connect(self._load_wanted_thumbs)
        session.detached.connect(self.clear)
        session.changed.connect(self.on_changes)

    # ------------------------------------------------------------------ queries
    def set_query(self, **changes: Any) -> None:
        """Change the case or a filter and reload (no-op when nothing changed)."""
        new = replace(self.query, **changes)
        if new != self.query:
            self.query = new
            self.reload()

    def set_case(self, case_id: int | None) -> None:
        """Show case ``case_id`` with the current filters (a stack view is closed); reloads."""
        self.query = replace(self.query, case_id=case_id, stack_id=None)
        self.reload()

    def reload(self) -> None:
        """Ask the service for the id list of the current query (read lane)."""
        q = self.query
        if q.case_id is None or self.session.is_locked:
            self.set_ids([])
            return

        def work(ws: Workstation) -> list[int]:
            return media.media_ids(ws, q.case_id, category=q.category, uncategorised=q.uncategorised,  # type: ignore[arg-type]
                                   alerts_only=q.alerts_only, stack_id=q.stack_id,
                                   include_known_good=q.include_known_good)

        self.session.read(work, self.set_ids, key=self, title="Listing media")

    def set_protection(self, *, blur: bool, grey: bool) -> None:
        """Change how thumbnails are protected; cached pictures are prepared again."""
        if (blur, grey) != (self.blur, self.grey):
            self.blur, self.grey = blur, grey
            self._thumbs.clear()
            self._pending_thumbs.clear()
            self._generation += 1
            self._repaint_all()

    def set_ids(self, ids: Sequence[int]) -> None:
        """Show exactly ``ids`` (values and thumbnails are fetched when first shown)."""
        self.beginResetModel()
        self._generation += 1
        self._ids = [int(i) for i in ids]
        self._rows = {mid: row for row, mid in enumerate(self._ids)}
        self._exposed = min(len(self._ids), self.EXPOSE_ROWS)
        self._infos.clear()
        self._pending_pages.clear()
        self._pending_thumbs.clear()
        self._wanted_thumbs.clear()
        self.endResetModel()
        self.idsLoaded.emit(len(self._ids))

    def clear(self) -> None:
        """Forget every row and every picture (lock, case closed)."""
        self.query = replace(self.query, case_id=None, stack_id=None)
        self._thumbs.clear()
        self._no_thumb.clear()
        self.set_ids([])

    def on_changes(self, ch: Changes) -> None:
        """Refresh edited tiles; reload after an ingest or a hash-set import."""
        if ch.table != "media" or (ch.case_id is not None and ch.case_id != self.query.case_id):
            return
        if ch.op == "updated":
            self.refresh_ids(ch.ids)
        else:
            self.reload()

    def refresh_ids(self, ids: Sequence[int]) -> None:
        """Fetch the values of these media again (a category changed) and repaint them.
        A categorised stack reports every member, so the tile standing for it is among them."""
        stale_rows = [self._rows[mid] for mid in ids if mid in self._rows]
        for row in stale_rows:
            self._infos.pop(self._ids[row], None)
        for page in sorted({row // self.PAGE_ROWS for row in stale_rows}):
            self._request_page(page)

    # ------------------------------------------------------------------ rows
    def total(self) -> int:
        return len(self._ids)

    def id_at(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, media_id: int) -> int | None:
        row = self._rows.get(media_id)
        if row is not None and row >= self._exposed:
            self.ensure_exposed(row)
        return row

    def ensure_exposed(self, row: int) -> None:
        if self._exposed <= row < len(self._ids):
            end = min(len(self._ids), (row // self.EXPOSE_ROWS + 1) * self.EXPOSE_ROWS)
            self.beginInsertRows(QModelIndex(), self._exposed, end - 1)
            self._exposed = end
            self.endInsertRows()

    def info(self, row: int) -> media.MediaInfo | None:
        """The values of ``row`` when loaded (a load is started otherwise)."""
        mid = self.id_at(row)
        if mid is None or row >= self._exposed:
            return None
        found = self._infos.get(mid)
        if found is None:
            self._request_page(row // self.PAGE_ROWS)
        return found

    def thumbnail(self, row: int) -> QImage | None:
        """The protected picture of ``row`` when loaded (a load is started otherwise)."""
        mid = self.id_at(row)
        if mid is None or row >= self._exposed:
            return None
        image = self._thumbs.get(mid)
        if image is not None:
            self._thumbs.move_to_end(mid)
            return image
        if mid not in self._no_thumb and mid not in self._pending_thumbs:
            self._wanted_thumbs.add(mid)
            self._thumb_timer.start()
        return None

    def has_thumbnail(self, media_id: int) -> bool:
        """True once the protected picture of ``media_id`` is in memory."""
        return media_id in self._thumbs

    def _request_page(self, page: int) -> None:
        if page in self._pending_pages or self.session.is_locked:
            return
        ids = self._ids[page * self.PAGE_ROWS:(page + 1) * self.PAGE_ROWS]
        if not ids:
            return
        self._pending_pages.add(page)
        generation = self._generation

        def done(infos: list[media.MediaInfo]) -> None:
            if generation != self._generation:
                return
            self._pending_pages.discard(page)
            self._infos.update((i.id, i) for i in infos)
            for i in infos:
                if not i.has_thumbnail:
                    self._no_thumb.add(i.id)
            rows = [self._rows[i.id] for i in infos if i.id in self._rows and self._rows[i.id] < self._exposed]
            if rows:
                self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

        def failed(exc: BaseException, details: str) -> None:
            self._pending_pages.discard(page)
            from ui.errors import show_error

            show_error(None, exc, details)

        self.session.read(lambda ws: media.get_media(ws, ids), done, on_error=failed, title="Loading media")

    def _load_wanted_thumbs(self) -> None:
        wanted = [mid for mid in self._wanted_thumbs if mid not in self._thumbs and mid not in self._pending_thumbs]
        self._wanted_thumbs.clear()
        if not wanted or self.session.is_locked:
            return
        self._pending_thumbs.update(wanted)
        blur, grey = self.blur, self.grey

        def work(ws: Workstation) -> dict[int, QImage]:
            # Decoded and protected here, on the worker: the clear picture never reaches the UI thread.
            return {mid: protect(data, blur=blur, grey=grey)
                    for mid, data in media.get_thumbnails(ws, wanted).items()}

        def done(images: dict[int, QImage]) -> None:
            self._pending_thumbs.difference_update(wanted)
            if (blur, grey) != (self.blur, self.grey):
                return  # prepared for a protection setting no longer in force
            for mid in wanted:
                image = images.get(mid)
                if image is None or image.isNull():
                    self._no_thumb.add(mid)
                else:
                    self._thumbs[mid] = image
            while len(self._thumbs) > self.MAX_THUMBS:
                self._thumbs.popitem(last=False)
            rows = sorted(self._rows[m] for m in wanted if m in self._rows and self._rows[m] < self._exposed)
            if rows:
                self.dataChanged.emit(self.index(rows[0]), self.index(rows[-1]), [ThumbRole])
            self.thumbnailsLoaded.emit(list(images))

        def failed(exc: BaseException, details: str) -> None:
            self._pending_thumbs.difference_update(wanted)
            from ui.errors import show_error

            show_error(None, exc, details)

        self.session.read(work, done, on_error=failed, title="Loading thumbnails")

    def _repaint_all(self) -> None:
        if self._exposed:
            self.dataChanged.emit(self.index(0), self.index(self._exposed - 1))

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._exposed

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._exposed < len(self._ids)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid() or self._exposed >= len(self._ids):
            return
        end = min(len(self._ids), self._exposed + self.EXPOSE_ROWS)
        self.beginInsertRows(QModelIndex(), self._exposed, end - 1)
        self._exposed = end
        self.endInsertRows()

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid() or not 0 <= index.row() < self._exposed:
            return None
        row = index.row()
        if role == IdRole:
            return self.id_at(row)
        if role == ThumbRole:
            return self.thumbnail(row)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, InfoRole):
            return None
        info = self.info(row)
        if role == InfoRole:
            return info
        if info is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            return info.name
        return tooltip(info)


def tooltip(info: media.MediaInfo) -> str:
    """What the tile says about a file in words (never the picture)."""
    lines = [info.path, f"{info.mime}, {info.size:,} bytes"
             + (f", {info.width}×{info.height}" if info.width else "")]
    lines.append(f"MD5 {info.md5}")
    lines.append(f"SHA-1 {info.sha1}")
    lines.append(f"SHA-256 {info.sha256}")
    if info.pdq:
        lines.append(f"PDQ {info.pdq} (quality {info.pdq_quality})")
    if info.stack_size > 1:
        lines.append(f"Duplicate stack of {info.stack_size} files (reviewed as one)")
    if info.category:
        lines.append(f"Category {info.category} by {info.categorised_by} at {info.categorised_at}")
    if info.alert:
        lines.append("Hash-set alert: " + ("known bad" if info.alert == "known_bad" else "watch list"))
    if info.known_good:
        lines.append("Matches a known-good set")
    if info.problem:
        lines.append(f"Problem: {info.problem}")
    if info.is_video:
        lines.append("Video: listed with its hashes; no playback here")
    return "\n".join(lines)
