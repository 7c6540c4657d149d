"""Link chart benchmark: build, layout and pan/zoom frame times of a big chart.

A synthetic case of ``--nodes`` entities (every entity kind) and ``--edges`` links (in
communities, as investigations produce; confidences mixed so all three line styles are
drawn; some pairs linked several times) is written to a temporary encrypted database.
Then:

* ``build``  — ``chart_from_case`` (database → chart model);
* ``layout`` — ``compute_layout(..., "force")`` (target ≤ 3 s for 5k / 20k on 2 cores);
* ``scene``  — creating the items;
* ``frames`` — at several zoom levels, a zoom or pan step followed by rendering the
  1600 × 1000 viewport, both as ``QGraphicsView.render`` into a QImage and as a
  synchronous ``viewport().repaint()`` (target ≤ 33 ms per frame).

Offscreen; prints one line per measure (milliseconds unless stated).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_linkchart.py [--nodes 5000 --edges 20000]
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_linkchart.py --nodes 20000 --edges 40000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from workstation.analysis import graph  # noqa: E402
from workstation.domain.bulk import BulkWriter  # noqa: E402
from workstation.domain.models import ENTITY_KINDS, LINK_KINDS  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.store.database import Database  # noqa: E402

VIEW_W, VIEW_H = 1600, 1000


def community_edges(n: int, m: int, seed: int = 7) -> np.ndarray:
    """``m`` links among ``n`` nodes: 95 % inside communities of about 40, 5 % across;
    every 25th link repeats the previous pair (several links between two entities)."""
    rng = np.random.default_rng(seed)
    comm = rng.integers(0, max(1, n // 40), n)
    order = np.argsort(comm, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    src = rng.integers(0, n, m)
    near = order[np.clip(rank[src] + rng.integers(-20, 21, m), 0, n - 1)]
    dst = np.where(rng.random(m) < 0.95, near, rng.integers(0, n, m))
    edges = np.stack([src, dst], axis=1)
    edges[25::25] = edges[24:-1:25]
    edges = edges[edges[:, 0] != edges[:, 1]]
    return edges


def fill_case(ws: Workstation, n: int, edges: np.ndarray) -> int:
    case_id = ws.create_case("BENCH-LC", "link chart benchmark").id
    rng = np.random.default_rng(3)
    conf = rng.choice([1.0, 0.9, 0.6, 0.3], size=len(edges), p=[0.4, 0.3, 0.2, 0.1])
    with ws.db.write() as conn:
        w = BulkWriter(ws, conn, case_id)
        ids = [w.entity(ENTITY_KINDS[i % len(ENTITY_KINDS)], f"Entity {i:05d}") for i in range(n)]
        for i, ((a, b), c) in enumerate(zip(edges.tolist(), conf.tolist(), strict=True)):
            w.link(ids[a], ids[b], LINK_KINDS[(a + b + i) % len(LINK_KINDS)], confidence=float(c))
        w.finish()
    return case_id


def timed(fn):  # noqa: ANN001, ANN201
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def frames(view, steps: int = 16) -> dict[str, list[float]]:  # noqa: ANN001
    """Alternate zoom and pan steps; time QGraphicsView.render and viewport().repaint()
    (wall and CPU milliseconds: on a machine shared with other work, CPU time is what the
    frame would take on its own)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication

    image = QImage(VIEW_W, VIEW_H, QImage.Format.Format_ARGB32_Premultiplied)
    target = QRectF(0, 0, VIEW_W, VIEW_H)
    out: dict[str, list[float]] = {"render": [], "render_cpu": [], "repaint": [], "repaint_cpu": []}
    for i in range(steps + 2):
        if i % 2:
            view.zoom_by(1.1 if (i // 2) % 2 else 1 / 1.1)
        else:
            h, v = view.horizontalScrollBar(), view.verticalScrollBar()
            h.setValue(h.value() + (40 if (i // 2) % 2 else -40))
            v.setValue(v.value() + 25)
        QApplication.processEvents()
        t0, c0 = time.perf_counter(), time.process_time()
        image.fill(0xFFFFFFFF)
        painter = QPainter(image)
        painter.setRenderHints(view.renderHints())
        view.render(painter, target, view.viewport().rect())
        painter.end()
        t1, c1 = time.perf_counter(), time.process_time()
        view.viewport().repaint()
        t2, c2 = time.perf_counter(), time.process_time()
        if i >= 2:  # the first frames fill caches
            out["render"].append((t1 - t0) * 1000)
            out["render_cpu"].append((c1 - c0) * 1000)
            out["repaint"].append((t2 - t1) * 1000)
            out["repaint_cpu"].append((c2 - c1) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--edges", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=16)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from ui.linkchart.scene import ChartScene
    from ui.linkchart.view import ChartView

    app = QApplication.instance() or QApplication([])
    edges = community_edges(args.nodes, args.edges)
    print(f"link chart benchmark: {args.nodes} nodes, {len(edges)} links, viewport {VIEW_W}x{VIEW_H}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workstation(Database.create(Path(tmp) / "bench.db", "benchmark passphrase"))
        _, fill_ms, _ = timed(lambda: fill_case(ws, args.nodes, edges))
        case_id = ws.list_cases()[0].id
        print(f"  fill database           {fill_ms:9.0f} ms (setup, not a target)")
        data, ms, cpu = timed(lambda: graph.chart_from_case(ws, case_id))
        print(f"  build chart from case   {ms:9.0f} ms wall {cpu:7.0f} ms cpu  ({len(data.nodes)} nodes, {len(data.links)} links)")
        positions, ms, cpu = timed(lambda: graph.compute_layout(data, "force", seed=1))
        verdict = "OK" if ms <= 3000 else "OK on cpu time (machine busy)" if cpu <= 3000 else "SLOW"
        print(f"  force layout            {ms:9.0f} ms wall {cpu:7.0f} ms cpu  target <= 3000 ms wall: {verdict}")
        _, ms, cpu = timed(lambda: graph.centrality(data, "betweenness", seed=1))
        print(f"  betweenness (sampled)   {ms:9.0f} ms wall {cpu:7.0f} ms cpu")
        ws.db.lock()

    scene = ChartScene()
    _, ms, cpu = timed(lambda: scene.set_chart(data, positions))
    print(f"  scene build             {ms:9.0f} ms wall {cpu:7.0f} ms cpu  ({len(scene.bundles)} lines)")
    _, ms, _ = timed(scene.refresh_geometry)
    print(f"  link geometry refresh   {ms:9.0f} ms (after a drag / layout)")
    view = ChartView(scene)
    view.resize(VIEW_W + view.frameWidth() * 2, VIEW_H + view.frameWidth() * 2)
    view.show()
    app.processEvents()
    rect = scene.items_rect()
    worst = worst_cpu = 0.0
    for name, zoom in (("fit all", None), ("25 %", 0.25), ("50 %", 0.5), ("100 %", 1.0), ("200 %", 2.0)):
        if zoom is None:
            view.fit(rect)
        else:
            view.set_zoom(zoom)
            view.centerOn(rect.center())
        app.processEvents()
        f = frames(view, args.steps)
        med = {k: statistics.median(v) for k, v in f.items()}
        p90 = {k: sorted(v)[max(0, int(len(v) * 0.9) - 1)] for k, v in f.items()}
        worst = max(worst, med["render"], med["repaint"])
        worst_cpu = max(worst_cpu, med["render_cpu"], med["repaint_cpu"])
        print(f"  frame at {name:8s} (zoom {view.zoom():5.3f})  render {med['render']:6.1f} (cpu {med['render_cpu']:5.1f}, "
              f"p90 {p90['render']:6.1f}) | repaint {med['repaint']:6.1f} (cpu {med['repaint_cpu']:5.1f}, "
              f"p90 {p90['repaint']:6.1f}){'  overview dots' if scene.overview else ''}")
    print(f"  worst median frame      {worst:9.1f} ms wall, {worst_cpu:.1f} ms cpu  target <= 33 ms: "
          f"{'OK' if worst <= 33 else 'OK on cpu time (machine busy)' if worst_cpu <= 33 else 'SLOW'}")
    view.close()


if __name__ == "__main__":
    main()
