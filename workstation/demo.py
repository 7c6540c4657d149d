"""The synthetic demo dataset: deterministic (seeded), fictional, safe to show anyone.

People are invented names; phones are in fictional ranges (+1 202-555-01xx, +44 7700
900xxx); cards are payment-network test numbers (Luhn-valid, never issued); e-mail domains
and IP addresses are the reserved documentation ones (example.org, 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); images are generated patterns and noise.

Planted cross-case overlaps (returned in ``summary["planted"]``) give the linking features
something true to find: the same phone, card, e-mail, account and IP in two cases, the
same image and a near-duplicate image in two cases, and two spellings of one person with
the same date of birth. Every other identifier is unique to its case.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from workstation import clock
from workstation.domain.bulk import BulkWriter
from workstation.domain.service import Workstation
from workstation.ids import new_uid
from workstation.store import schema as s

Progress = Callable[[float, str], None]

FIRST = ["Alex", "Sam", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Robin", "Drew",
         "Avery", "Quinn", "Parker", "Reese", "Emerson", "Rowan", "Sage", "Kendall", "Harper", "Blake"]
LAST = ["Testperson", "Samplewood", "Demoford", "Fictionby", "Placeholt", "Mockridge", "Dummington",
        "Exampleton", "Synthwell", "Fakesley", "Pseudonym", "Madeupson", "Notreal", "Imaginary",
        "Inventor", "Fablewick", "Storybrook", "Novelle", "Mythburn", "Legendre"]
PLATFORMS = ["telegram", "whatsapp", "discord", "instagram", "kik", "snapchat"]
MERCHANTS = [("GIFT CARD PLAZA", "5999"), ("QUICKFUEL 221", "5542"), ("NETSTREAM DIGITAL", "5815"),
             ("CLOUD GAMES STORE", "5816"), ("MONEY WIRE EXPRESS", "4829"), ("CORNER GROCERY", "5411"),
             ("HOTEL CENTRAL", "7011"), ("RIDE SHARE CO", "4121"), ("PHOTO PRINT HUB", "7395"),
             ("VPN SECURE LTD", "4816")]
WORDS = ("meet later send pics where when now ok sure tomorrow school park bus phone call "
         "money card code gift game level chat delete app account new old friend secret "
         "dont tell anyone video camera online offline address hotel ride pay wire").split()
CHARGES = [("Luring a child by means of telecommunication", "CC 172.1"),
           ("Possession of prohibited material", "CC 163.1(4)"),
           ("Making available prohibited material", "CC 163.1(3)"),
           ("Fraudulent use of a payment card", "CC 342(1)(c)"),
           ("Breach of release conditions", "CC 145(3)")]
AGENCIES = ["Metro Police ICE Unit", "County Sheriff Cyber Unit", "Provincial Online Child Exploitation Unit"]
TEST_CARD_BINS = ["400000", "411111", "424242", "555555", "510510", "222300"]


def _luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


class _Ids:
    """Hands out identifiers that never repeat, so only planted overlaps link cases."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.phone_us = iter(n for n in range(100, 200) if n != 143)
        self.phone_uk = iter(range(1, 1000))
        self.card_n = 0
        self.ip_n = 0
        self.handle_n = 0

    def phone(self) -> str:
        try:
            return f"+1 202-555-0{next(self.phone_us):03d}"
        except StopIteration:
            return f"+44 7700 900{next(self.phone_uk):03d}"

    def card(self) -> str:
        self.card_n += 1
        bin_ = TEST_CARD_BINS[self.card_n % len(TEST_CARD_BINS)]
        return _luhn_complete(f"{bin_}{self.card_n:09d}")

    def ip(self) -> str:
        self.ip_n += 1
        nets = ["192.0.2", "198.51.100", "203.0.113"]
        net = nets[self.ip_n // 250 % 3]
        return f"{net}.{self.ip_n % 250 + 1}"

    def handle(self, base: str) -> str:
        self.handle_n += 1
        return f"{base.lower()}_{self.handle_n:03d}"


def _image(rnd: random.Random, variant: int | None = None, *, near_of: int | None = None) -> bytes:
    """A generated picture (stripes, circles, noise) as PNG bytes."""
    import numpy as np
    from PIL import Image, ImageDraw

    seed = near_of if near_of is not None else (variant if variant is not None else rnd.randrange(1 << 30))
    r = random.Random(seed)
    img = Image.new("RGB", (320, 240), (r.randrange(256), r.randrange(256), r.randrange(256)))
    d = ImageDraw.Draw(img)
    for _ in range(8):
        x, y = r.randrange(320), r.randrange(240)
        rad = r.randrange(10, 70)
        d.ellipse((x - rad, y - rad, x + rad, y + rad), fill=(r.randrange(256), r.randrange(256), r.randrange(256)))
    for i in range(0, 320, r.randrange(12, 40)):
        d.line((i, 0, i + 60, 240), fill=(r.randrange(256),) * 3, width=3)
    arr = np.asarray(img).astype(np.int16)
    noise = np.random.default_rng(seed).integers(-12, 13, arr.shape)
    arr = arr + noise
    if near_of is not None:
        # The near-duplicate: same picture, re-encoded brighter with a little fresh noise.
        arr = arr + 9 + np.random.default_rng(seed + 1).integers(-4, 5, arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype("uint8"))
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def _media_row(ws: Workstation, case_id: int, data: bytes, name: str, when: datetime) -> dict[str, Any]:
    from workstation.media.images import analyse_image

    a = analyse_image(data)
    return {
        "case_id": case_id, "path": f"/evidence/demo/{name}", "size": len(data), "mime": "image/png",
        "md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),  # noqa: S324 - evidence hashes
        "sha256": hashlib.sha256(data).hexdigest(), "pdq": a.pdq_hex, "pdq_quality": a.pdq_quality,
        "width": a.width, "height": a.height, "exif": None, "captured_utc": clock.to_micros(when),
        "thumbnail": a.thumbnail_jpeg, "created_at": clock.utcnow_iso(),
    }


def build_demo(ws: Workstation, *, seed: int = 7, events: int | None = None, cases: int = 20,
               progress: Progress | None = None) -> dict[str, Any]:
    """Fill ``ws`` with the demo dataset. Deterministic for a given seed and size.

    ``events`` is the total number of events (default about 300 per case); when it is
    large the surplus goes to the first case, so benchmarks get one very large case.
    Runs one write transaction per case; returns counts and the planted overlaps.
    """
    cases = max(cases, 16)
    rnd = random.Random(seed)
    ids = _Ids(rnd)
    per_case = 300 if events is None else max(20, min(300, events // cases))
    surplus = 0 if events is None else max(0, events - per_case * cases)
    report = progress or (lambda f, m: None)
    base = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)

    planted: list[dict[str, Any]] = []
    shared = {
        "phone": "+1 202-555-0143", "card": "5555555555554444", "email": "nightowl77@example.net",
        "account": ("telegram", "shadowfox_22"), "ip": "203.0.113.77",
    }
    plan = {0: "phone", 1: "phone", 2: "card", 3: "card", 10: "email", 11: "email",
            12: "account", 13: "account", 14: "ip", 15: "ip"}
    person_plant = {8: ("Jonathan", "Testperson"), 9: ("Jonathon", "Tesperson")}
    image_exact = {4, 5}
    image_near = {6: False, 7: True}
    created_cases: list[int] = []
    totals = {"cases": 0, "entities": 0, "events": 0, "links": 0, "media": 0}
    with ws.db.read() as conn:
        existing = int(conn.execute(select(func.count()).select_from(s.case)).scalar_one())
    year = 2024 + existing // 100

    for ci in range(cases):
        number = f"DEMO-{year}-{existing + ci + 1:03d}"
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        title = f"Online luring — {first} {last}" if ci % 3 else f"Card fraud and exploitation — {last}"
        ch = ws.create_case(number, title, agency=AGENCIES[ci % len(AGENCIES)],
                            lead_officer=f"Det. {rnd.choice(LAST)}",
                            summary=f"Synthetic demo case {ci + 1}. Nothing here is real.",
                            sharing="hq" if ci % 4 == 0 else "local", timezone="America/Toronto")
        case_id = ch.id
        created_cases.append(case_id)
        case_start = base + timedelta(days=ci * 11)
        n_events = per_case + (surplus if ci == 0 else 0)
        with ws.db.write() as conn:
            w = BulkWriter(ws, conn, case_id)

            def ident(kind: str, value: str, *, platform: str | None = None, label: str | None = None,
                      props: dict[str, Any] | None = None) -> int:
                shown, key, p, sensitive = ws.normalise(kind, value, platform=platform)
                p.update(props or {})
                return w.entity(kind, label or shown, key, properties=p, sensitive=sensitive)

            # People: a suspect, one or two associates, a complainant.
            people = []
            for pi in range(rnd.randint(2, 4)):
                if pi == 0 and ci in person_plant:
                    fn, ln = person_plant[ci]
                    dob = "1984-06-02"
                else:
                    fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
                    dob = f"{rnd.randint(1960, 2004)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
                    fn = f"{fn}{'ie' if pi == 3 else ''}"
                pid = w.entity("person", f"{fn} {ln}", None, properties={"dob": dob, "role": "suspect" if pi == 0 else "associate"})
                people.append(pid)
            suspect = people[0]

            phones = [ident("phone", ids.phone()) for _ in range(rnd.randint(1, 3))]
            emails = [ident("email", f"{rnd.choice(FIRST).lower()}.{number.lower().replace('-', '')}{i}@example.org")
                      for i in range(rnd.randint(1, 2))]
            accounts = []
            for _ in range(rnd.randint(2, 4)):
                platform = rnd.choice(PLATFORMS)
                accounts.append((platform, ident("account", ids.handle(rnd.choice(WORDS)), platform=platform)))
            cards = [ident("card", ids.card()) for _ in range(rnd.randint(1, 2))]
            ips = [ident("ip", ids.ip()) for _ in range(rnd.randint(1, 3))]

            kind = plan.get(ci)
            if kind == "phone":
                phones.append(ident("phone", shared["phone"]))
            elif kind == "card":
                cards.append(ident("card", shared["card"]))
            elif kind == "email":
                emails.append(ident("email", shared["email"]))
            elif kind == "account":
                platform, handle = shared["account"]  # type: ignore[misc]
                accounts.append((platform, ident("account", handle, platform=platform)))
            elif kind == "ip":
                ips.append(ident("ip", shared["ip"]))

            for e in phones + emails + cards:
                w.link(suspect, e, "holder_of" if e in cards else "uses")
            for _, a in accounts:
                w.link(suspect, a, "uses", confidence=0.8)
            for other in people[1:]:
                w.link(suspect, other, "associate_of", confidence=0.6)

            merchants = [w.entity("organisation", m, None, properties={"mcc": mcc}) for m, mcc in MERCHANTS]
            counterpart = [ident("account", ids.handle("contact"), platform=p) for p, _ in accounts]
            for (_, a), c in zip(accounts, counterpart, strict=True):
                w.link(a, c, "communicated_with", confidence=0.9)

            # Events: chats, card purchases, logins, an arrest/booking.
            tz = timezone(timedelta(hours=-5))
            for i in range(n_events):
                when = (case_start + timedelta(minutes=int(i * 45 * 300 / max(n_events, 300))
                                               + rnd.randint(0, 40))).astimezone(tz)
                r = rnd.random()
                if r < 0.7:
                    (platform, acc), other = accounts[i % len(accounts)], counterpart[i % len(accounts)]
                    sender, recipient = (acc, other) if rnd.random() < 0.55 else (other, acc)
                    text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 14)))
                    w.event("message", when, title=f"{platform} message", body=text,
                            properties={"platform": platform},
                            parties=((sender, "sender"), (recipient, "recipient")), ref=f"demo {i}")
                elif r < 0.92:
                    card = cards[i % len(cards)]
                    mi = rnd.randrange(len(merchants))
                    amount = Decimal(rnd.randint(500, 50000)) / 100
                    w.event("transaction", when, title=MERCHANTS[mi][0],
                            properties={"amount": str(-amount), "currency": "CAD", "mcc": MERCHANTS[mi][1]},
                            parties=((card, "payment_card"), (merchants[mi], "merchant"), (suspect, "cardholder")),
                            ref=f"demo {i}")
                else:
                    ip = ips[i % len(ips)]
                    if ci in (14, 15) and kind == "ip" and i % 3 == 0:
                        ip = ips[-1]
                        when = datetime(2024, 6, 1, 12, ci, tzinfo=UTC) + timedelta(hours=i % 10)
                    w.event("login", when, title="account login",
                            properties={"platform": accounts[0][0]},
                            parties=((ip, "source_ip"), (accounts[0][1], "account")), ref=f"demo {i}")
                if progress and i % 20000 == 0 and n_events > 50000:
                    report((ci + i / n_events) / cases, f"case {number}: {i:,} events")
            booking_at = (case_start + timedelta(days=60)).astimezone(tz)
            charge = CHARGES[ci % len(CHARGES)]
            w.event("booking", booking_at, title=f"Booking B{2400000 + ci}",
                    properties={"booking_number": f"B{2400000 + ci}",
                                "charges": [{"description": charge[0], "statute": charge[1]}],
                                "agency": AGENCIES[ci % len(AGENCIES)]},
                    parties=((suspect, "arrestee"),), ref="demo booking")
            w.finish()

            # Media: generated pictures (patterns and noise only).
            media_rows = []
            for mi in range(3):
                data = _image(rnd, variant=seed * 1000 + ci * 10 + mi)
                media_rows.append(_media_row(ws, case_id, data, f"IMG_{ci:02d}{mi:02d}.png",
                                             case_start + timedelta(days=mi)))
            if ci in image_exact:
                data = _image(rnd, variant=424242)
                media_rows.append(_media_row(ws, case_id, data, "shared_exact.png", case_start))
            if ci in image_near:
                data = _image(rnd, near_of=515151) if image_near[ci] else _image(rnd, variant=515151)
                media_rows.append(_media_row(ws, case_id, data, "shared_near.png", case_start))
            for row in media_rows:
                row.update(uid=new_uid(), origin=ws.db.device_id, hlc=ws.clock.now())
            conn.execute(insert(s.media), media_rows)
            ws.audit.append(conn, "demo.fill", "case", case_id, {**w.created, "media": len(media_rows)})
            totals["entities"] += w.created["entities"]
            totals["events"] += w.created["events"]
            totals["links"] += w.created["links"]
            totals["media"] += len(media_rows)
        totals["cases"] += 1
        report((ci + 1) / cases, f"case {number} done")

    def pair(a: int, b: int) -> list[int]:
        return [created_cases[a], created_cases[b]]

    planted = [
        {"kind": "phone", "cases": pair(0, 1), "value": shared["phone"]},
        {"kind": "card", "cases": pair(2, 3), "value": "•••• 4444"},
        {"kind": "media_exact", "cases": pair(4, 5)},
        {"kind": "media_pdq", "cases": pair(6, 7)},
        {"kind": "person", "cases": pair(8, 9), "value": "Jonathan Testperson / Jonathon Tesperson, 1984-06-02"},
        {"kind": "email", "cases": pair(10, 11), "value": shared["email"]},
        {"kind": "account", "cases": pair(12, 13), "value": "telegram:shadowfox_22"},
        {"kind": "ip", "cases": pair(14, 15), "value": shared["ip"]},
    ]
    with ws.db.write() as conn:
        import json

        ws.db.meta_set(conn, "demo_planted", json.dumps(planted))
    return {**totals, "planted": planted, "isolated_cases": created_cases[16:]}
