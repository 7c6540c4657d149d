"""WhatsApp exports from phones in further locales and calendars: iOS with the Thai Buddhist
calendar ("3/27/2565 BE"), the Japanese imperial calendar ("3/27/R4"), Vietnamese iOS
(time before date), and the iOS placeholder and notice wordings of Japanese, Thai,
Vietnamese and Ukrainian.

People, numbers and texts are synthetic; the line structure follows real iOS exports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.core.ingest.test_chat_whatsapp_real_variants_3 import parse, sender, write

LRM = "\u200e"


def test_buddhist_era_years_with_be_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"{LRM}[3/18/2565 BE, 14:56:01] Ana Lima: {LRM}Messages and calls are end-to-end "
        "encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.",
        "[3/27/2565 BE, 21:41:35] Ben Ito: see you at the pier",
        "[3/27/2565 BE, 21:41:55] Ben Ito: 6 o'clock",
        "[1/12/2566 BE, 02:05:44] Ana Lima: happy new year",
    ])
    evs = parse(path)
    assert [(e.kind, sender(e), e.occurred_at) for e in evs] == [
        ("system", None, datetime(2022, 3, 18, 14, 56, 1)),
        ("message", "Ben Ito", datetime(2022, 3, 27, 21, 41, 35)),
        ("message", "Ben Ito", datetime(2022, 3, 27, 21, 41, 55)),
        ("message", "Ana Lima", datetime(2023, 1, 12, 2, 5, 44)),
    ]
    assert evs[1].body == "see you at the pier"
    assert evs[1].properties.get("calendar") == "buddhist"


def test_japanese_imperial_era_years(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "[4/29/H31, 09:00:00] Ana Lima: last day of the era",
        "[3/27/R4, 21:41:35] Ben Ito: Hello there",
        "[3/27/R4, 21:53:30] Ben Ito: second line",
        "continued here",
        "[1/7/R5, 23:32:30] Ana Lima: ok",
    ])
    evs = parse(path)
    assert [(sender(e), e.occurred_at) for e in evs] == [
        ("Ana Lima", datetime(2019, 4, 29, 9, 0)),
        ("Ben Ito", datetime(2022, 3, 27, 21, 41, 35)),
        ("Ben Ito", datetime(2022, 3, 27, 21, 53, 30)),
        ("Ana Lima", datetime(2023, 1, 7, 23, 32, 30)),
    ]
    assert evs[2].body == "second line\ncontinued here"


def test_vietnamese_ios_time_before_date(tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"{LRM}[14:56:01, 3/18/22] Lima Ana: {LRM}Tin nhắn và cuộc gọi được mã hóa đầu cuối. "
        "Những người bên ngoài cuộc trò chuyện này, kể cả WhatsApp, sẽ không đọc hoặc nghe được.",
        "[21:41:35, 3/27/22] Ito Ben: Chào bạn",
        "[21:41:55, 3/27/22] Ito Ben: đã bỏ qua hình ảnh",
        "[02:05:44, 1/12/23] Lima Ana: hẹn gặp lại",
        "dòng thứ hai",
    ])
    evs = parse(path)
    assert [(e.kind, sender(e), e.occurred_at) for e in evs] == [
        ("system", None, datetime(2022, 3, 18, 14, 56, 1)),
        ("message", "Ito Ben", datetime(2022, 3, 27, 21, 41, 35)),
        ("message", "Ito Ben", datetime(2022, 3, 27, 21, 41, 55)),
        ("message", "Lima Ana", datetime(2023, 1, 12, 2, 5, 44)),
    ]
    assert evs[2].properties.get("media_kind") == "image" and not evs[2].body
    assert evs[3].body == "hẹn gặp lại\ndòng thứ hai"


def test_document_omitted_after_a_bare_file_name(tmp_path: Path) -> None:
    # iOS writes a document's name before the placeholder; the page count only for PDFs.
    path = write(tmp_path, [
        "[3/27/22, 21:50:09] Ben Ito: Notes 2022.txt document omitted",
        "[3/27/22, 21:50:10] Ben Ito: Plan.docx Dokument weggelassen",
        "[3/27/22, 21:50:11] Ben Ito: Plan.docx документ отсутствует",
        "[3/27/22, 21:50:12] Ben Ito: Plan.docx documento não revelado",
        "[3/27/22, 21:50:13] Ben Ito: Report.pdf • 2 pages document omitted",
        "[3/27/22, 21:50:14] Ben Ito: the annex was document omitted",
    ])
    evs = parse(path)
    assert [e.properties.get("media_kind") for e in evs] == [
        "document", "document", "document", "document", "document", None]
    assert [e.body for e in evs[:5]] == [None] * 5
    assert evs[5].body == "the annex was document omitted"


def test_ios_placeholders_and_deletions_in_japanese_thai_vietnamese_ukrainian(
        tmp_path: Path) -> None:
    texts = {
        "画像は含まれていません": "image", "スタンプは含まれていません": "sticker",
        "Plan.docx ドキュメントは含まれていません": "document", "連絡先カードを省略": "contact",
        "ไม่มีรูปภาพ": "image", "ไม่มีไฟล์เสียง": "audio", "ละเว้น GIF": "gif",
        "Plan.pdf • 2 หน้า ละเว้นเอกสาร": "document",
        "đã bỏ video": "video", "bỏ qua tệp âm thanh": "audio", "Đã bỏ qua ảnh GIF": "gif",
        "Bỏ qua thẻ liên lạc": "contact",
        "зображення відсутнє": "image", "Наклейку не додано": "sticker",
        "GIF-анімацію пропущено": "gif", "Plan.docx документ пропущено": "document",
    }
    lines = [f"[3/27/22, 21:{i:02d}:00] Ben Ito: {LRM}{t}" for i, t in enumerate(texts)]
    deleted = ["このメッセージは削除されました。", "このメッセージを削除しました。", "ข้อความนี้ถูกลบแล้ว",
               "Bạn đã xoá tin nhắn này.", "Tin nhắn này đã bị xóa.",
               "Це повідомлення було видалено."]
    lines += [f"[3/28/22, 10:{i:02d}:00] Ana Lima: {LRM}{t}" for i, t in enumerate(deleted)]
    evs = parse(write(tmp_path, lines))
    assert [e.properties.get("media_kind") for e in evs[:len(texts)]] == list(texts.values())
    assert all(e.kind == "message" and sender(e) == "Ben Ito" and not e.body
               for e in evs[:len(texts)])
    assert [(e.kind, e.properties.get("deleted")) for e in evs[len(texts):]] == [
        ("message", True)] * len(deleted)


def test_encryption_notices_and_marked_locations_in_more_locales(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "[3/18/22, 14:56:00] Ana Lima: Повідомлення й дзвінки захищено наскрізним "
        "шифруванням. Прочитати чи прослухати їх не зможе жодна стороння особа.",
        "[3/18/22, 14:56:01] Ana Lima: ข้อความและการโทรได้รับการเข้ารหัสจากต้นทางถึงปลายทาง",
        "[3/18/22, 14:56:02] Ana Lima: メッセージと通話はエンドツーエンド暗号化されています。",
        f"[3/27/22, 21:56:45] Ben Ito: {LRM}位置情報: https://maps.google.com/?q=35.0,139.0",
        f"[3/27/22, 21:56:46] Ben Ito: {LRM}ตำแหน่งที่ตั้ง: https://maps.google.com/?q=13.7,100.5",
        f"[3/27/22, 21:56:47] Ben Ito: {LRM}Розташування: https://maps.google.com/?q=50.4,30.5",
        "[3/27/22, 21:57:00] Ben Ito: ok",
    ])
    evs = parse(path)
    assert [(e.kind, sender(e)) for e in evs] == [
        ("system", None), ("system", None), ("system", None), ("message", "Ben Ito"),
        ("message", "Ben Ito"), ("message", "Ben Ito"), ("message", "Ben Ito")]
    assert evs[4].properties["location"] == {"latitude": 13.7, "longitude": 100.5}


def test_security_code_notices_naming_the_short_name(tmp_path: Path) -> None:
    # iOS names the contact by the short name under which the notice is not written; the
    # marks are gone (copied out through another tool).
    path = write(tmp_path, [
        "[3/27/22, 21:41:35] Ana Lima: hello",
        "[3/27/22, 21:41:36] Ben Ito: hi",
        "[4/28/22, 20:17:30] Ana Lima: Your security code with Ana changed. Tap to learn more.",
        "[4/28/22, 20:17:31] Ana Lima: Deine Sicherheitsnummer für Ana hat sich geändert. "
        "Tippe, um mehr zu erfahren.",
        "[4/28/22, 20:17:32] Ana Lima: Ваш код безопасности с контактом Ana изменился. "
        "Подробнее.",
        "[4/28/22, 20:17:33] Ana Lima: Mã bảo mật của bạn với Ana đã thay đổi. Nhấn để tìm "
        "hiểu thêm.",
        "[4/28/22, 20:17:34] Ben Ito: Your security code with Ana changed. Tap to learn more.",
    ])
    evs = parse(path)
    assert [(e.kind, sender(e)) for e in evs] == [
        ("message", "Ana Lima"), ("message", "Ben Ito"), ("system", None), ("system", None),
        ("system", None), ("system", None), ("message", "Ben Ito")]
    assert [e.properties.get("notice") for e in evs[2:6]] == ["security_code"] * 4
