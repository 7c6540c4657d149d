"""Sync with headquarters (client side): change tracking, push/pull, bundles.

Public API (import from the submodules; this package stays light because the service
imports ``sync.hlc`` on every start):

* ``sync.client``: ``enroll(ws, hq_url, code, ca_cert=None) -> Enrolment``,
  ``enrolment_info(ws) -> EnrolmentInfo | None`` (no secrets: what the UI shows)
* ``sync.engine``: ``sync_now(ws, progress=None, cancel=None, trace=None) -> SyncReport``
  (``trace(step, info)`` hears each step, ``engine.TRACE_STEPS``), ``export_bundle(ws, out)``,
  ``import_bundle(ws, src)``
* ``sync.status``: ``sync_status(ws, case_id) -> CaseSyncStatus``,
  ``record_sync_state(ws, table, id) -> 'local only'|'pending'|'synced'|'conflict'``
* ``sync.conflicts``: ``list_conflicts(ws, case_id=None)``,
  ``resolve_conflict(ws, id, choice, value=None)`` (also ``Workstation.list_conflicts`` /
  ``Workstation.resolve_conflict``)
* ``sync.deconflict``: ``deconflict(ws, case_id) -> list[DeconflictHit]``

Network calls raise ``NetworkError`` (exit code 6); long calls take ``progress(fraction,
message)`` and a cancel token (anything with ``is_set()``) and run in a worker.
"""
