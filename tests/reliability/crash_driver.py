"""Child process of the crash test: writes to a case database in a loop until killed.

Run as ``python tests/reliability/crash_driver.py CONFIG.json``. It uses only the public
core API (Database, Workstation, run_import) and does, in a random order drawn from the
seed: imports of a generated card-statement CSV (a few thousand rows, each file new),
imports of a real chat export from the shared corpus (into a new case, so it is never a
re-import), entity edits (relabel, add + link, delete, note) and re-keys between two
passphrases.

Before and after each operation it appends a JSON line to the journal (O_APPEND; the line
reaches the kernel before the operation starts, so a SIGKILL cannot lose it). The parent
reads the journal to know what had committed and what was in flight when it killed us.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.reliability.support import SHARED_DATA, write_bank_csv  # noqa: E402
from workstation.domain.service import Workstation  # noqa: E402
from workstation.ingest.pipeline import file_digest, run_import  # noqa: E402
from workstation.store.database import Database  # noqa: E402

CHAT_EXPORTS = (
    "chat/whatsapp/whatsapp_ios_chat.txt",
    "chat/whatsapp/whatsapp_mixed_formats_chat.txt",
    "chat/telegram/result.json",
    "chat/messenger/facebook_chat.json",
    "chat/slack/slack_export.zip",
)


class Journal:
    """Append-only JSON lines; each write is one ``write(2)`` on an O_APPEND descriptor."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __call__(self, **entry: Any) -> None:
        os.write(self.fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))


def main(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    work = Path(cfg["work"])
    journal = Journal(Path(cfg["journal"]))
    rng = random.Random(cfg["seed"])
    passphrases: list[str] = cfg["passphrases"]
    current = cfg["passphrase"]
    db = Database.open(cfg["db"], current)
    ws = Workstation(db)
    journal(op="ready", pid=os.getpid())
    csv_case = None
    for case in ws.list_cases(with_counts=False):
        if case.number == "CRASH-CSV":
            csv_case = case.id
    if csv_case is None:
        csv_case = ws.create_case("CRASH-CSV", "Card statements (crash test)").ids[0]
    for step in range(int(cfg["max_steps"])):
        op = rng.choices(("csv", "chat", "edit", "rekey"), weights=cfg.get("weights", (3, 2, 4, 1)))[0]
        tag = f"{cfg['seed']}-{step}"
        if op == "csv":
            path = write_bank_csv(work / f"statement-{tag}.csv", rng.randint(2000, 4000), rng.randrange(1 << 30))
            digest = file_digest(path)[1]
            journal(op="import", phase="begin", case_id=csv_case, sha256=digest, file=path.name)
            res = run_import(ws, csv_case, path)
            journal(op="import", phase="done", case_id=csv_case, sha256=digest, source_id=res.source_id,
                    events=res.events, entities=res.entities, links=res.links)
        elif op == "chat":
            path = SHARED_DATA / rng.choice(CHAT_EXPORTS)
            digest = file_digest(path)[1]
            journal(op="case", phase="begin", number=f"CRASH-CHAT-{tag}")
            case_id = ws.create_case(f"CRASH-CHAT-{tag}", f"Chat export {path.name}").ids[0]
            journal(op="case", phase="done", number=f"CRASH-CHAT-{tag}", case_id=case_id)
            journal(op="import", phase="begin", case_id=case_id, sha256=digest, file=path.name)
            res = run_import(ws, case_id, path)
            journal(op="import", phase="done", case_id=case_id, sha256=digest, source_id=res.source_id,
                    events=res.events, entities=res.entities, links=res.links)
        elif op == "edit":
            cases = [c.id for c in ws.list_cases(with_counts=False)]
            case_id = rng.choice(cases)
            ids = ws.entity_ids(case_id)
            what = rng.choice(("relabel", "relabel", "add", "delete", "note")) if ids else "add"
            if what == "relabel":
                eid = rng.choice(ids)
                label = f"relabelled {tag}"
                journal(op="edit", phase="begin", entity_id=eid, label=label)
                ws.update_entity(eid, label=label, properties={"edited_in": tag})
                journal(op="edit", phase="done", entity_id=eid, label=label)
            elif what == "add":
                journal(op="add", phase="begin", tag=tag)
                ch = ws.add_entity(case_id, "email", f"crash.{tag}@example.org", reuse=False)
                eid = ch.ids[0]
                if ids:
                    ws.add_link(eid, rng.choice(ids), "uses", confidence=0.5)
                journal(op="add", phase="done", tag=tag, entity_id=eid)
            elif what == "delete":
                eid = rng.choice(ids)
                journal(op="delete", phase="begin", entity_id=eid)
                ws.delete_entity(eid)
                journal(op="delete", phase="done", entity_id=eid)
            else:
                journal(op="note", phase="begin", tag=tag)
                ws.add_note(case_id, f"crash-test note {tag}")
                journal(op="note", phase="done", tag=tag)
        else:
            target = passphrases[1] if current == passphrases[0] else passphrases[0]
            journal(op="rekey", phase="begin", to=passphrases.index(target))
            db.change_passphrase(target)
            current = target
            journal(op="rekey", phase="done", to=passphrases.index(target))
    journal(op="finished")
    db.lock()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
