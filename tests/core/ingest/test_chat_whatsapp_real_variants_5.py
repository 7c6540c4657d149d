"""WhatsApp exports in further locales and from WhatsApp Web / Desktop: the wording WhatsApp
writes where it left something out (media, deleted and edited messages, calls, locations,
the encryption notice) in Turkish, Indonesian, Arabic, Hebrew, Polish and the other
locales of its string tables; 12-hour markers of Turkish, Malay, Czech and Hebrew; phone
number senders wrapped in different invisible marks; and the Web / Desktop export layout.

People, numbers and texts are synthetic; the line structure follows real exports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.core.ingest.test_chat_whatsapp_real_variants_3 import P, parse, sender, write
from workstation.ingest.records import ImportOptions, ParsedEvent, RowError

LRM = "\u200e"
RLM = "\u200f"
LRE, RLE, PDF = "\u202a", "\u202b", "\u202c"
FSI, PDI = "\u2068", "\u2069"


def test_android_media_omitted_in_arabic_hebrew_and_asian_locales(tmp_path: Path) -> None:
    labels = ["<تم استبعاد الوسائط>", "<המדיה לא נכללה>", "<メディアは含まれていません>",
              "<미디어 파일을 생략한 대화내용>", "<省略多媒体文件>", "<मीडिया के बिना>",
              "<মিডিয়া বাদ দেওয়া হয়েছে>", "<میڈیا چھوڑ دیا گیا>", "<Hiányzó médiafájl>",
              "<Εξαίρεση πολυμέσων>", "<Uten vedlegg>"]
    lines = [f"15/09/2024, 20:{i:02d} - Dana Haddad: {label}" for i, label in enumerate(labels)]
    lines.append("15/09/2024, 21:00 - Omar Saleh: تمام")
    evs = parse(write(tmp_path, lines))
    assert [(e.kind, sender(e), e.body) for e in evs[:-1]] == [
        ("message", "Dana Haddad", None)] * len(labels)
    assert all(e.properties.get("media_omitted") for e in evs[:-1])
    assert [a.name for e in evs[:-1] for a in e.attachments] == labels


def test_ios_typed_placeholders_in_hebrew_arabic_and_more_locales(tmp_path: Path) -> None:
    texts = {
        # Hebrew (the definite article), Arabic (verb first), after the right-to-left mark
        f"{RLM}התמונה הושמטה": "image", f"{RLM}סרטון הווידאו הושמט": "video",
        f"{RLM}קטע קול הושמט": "audio", f"{RLM}لم يتم إدراج الصورة": "image",
        f"{RLM}لم يتم إدراج الفيديوهات": "video", f"{RLM}لم يتم إدراج المقاطع الصوتية": "audio",
        f"{RLM}تم حذف الملصقات": "sticker", f"{RLM}لم يتم إدراج صورة GIF": "gif",
        f"{RLM}Plan.pdf • 2 صفحة لم يتم إدراج المستند": "document",
        f"{RLM}لم يتم إدراج بطاقة جهة اتصال": "contact",
        f"{LRM}圖片已略去": "image", f"{LRM}视频已忽略": "video", f"{LRM}GIF 圖片已被省略": "gif",
        f"{LRM}이미지 생략됨": "image", f"{LRM}연락처 카드 생략됨": "contact",
        f"{LRM}bild utesluten": "image", f"{LRM}lyd udeladt": "audio",
        f"{LRM}klistremerke utelatt": "sticker", f"{LRM}videota ei sisällytetä": "video",
        f"{LRM}Plan.docx dokument vynechán": "document", f"{LRM}Imagine omisă": "image",
        f"{LRM}matrica kihagyva": "sticker", f"{LRM}εικόνα παραλείφθηκε": "image",
        f"{LRM}ইমেজ বাদ দেওয়া হয়েছে": "image", f"{RLM}GIF  نظرانداز": "gif",
        f"{RLM}تصویر حذف شد": "image", f"{LRM}वीडियो छोड़ा गया": "video",
        f"{LRM}kad kenalan tidak dimasukkan": "contact",
    }
    lines = [f"[15.09.24, 20:{i:02d}:00] Dana Haddad: {t}" for i, t in enumerate(texts)]
    evs = parse(write(tmp_path, lines))
    assert [e.properties.get("media_kind") for e in evs] == list(texts.values())
    assert all(e.kind == "message" and sender(e) == "Dana Haddad" and not e.body for e in evs)
    assert evs[8].attachments[0].name == "Plan.pdf"


def test_edited_marker_in_turkish_indonesian_arabic_hebrew_polish(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "15.09.2024 20:46 - Ayşe Demir: yarın gelirim <Bu mesaj düzenlendi>",
        "15/09/2024 20.47 - Budi Santoso: Jadi jam 8 ya <Pesan ini diedit>",
        f"15/09/2024، 20:48 - دانة: سأصل غدا {RLM}<تم تعديل هذه الرسالة>{RLM}",
        "15.9.2024, 20:49 - דנה כהן: מחר בבוקר <ההודעה נערכה>",
        "15.09.2024, 20:50 - Anna Nowak: Do zobaczenia <Ta wiadomość została zmieniona>",
        "15.09.2024, 20:51 - Anna Nowak: a <b>tag</b> is no marker <b>",
    ])
    evs = parse(path)
    assert [(e.body, e.properties.get("edited")) for e in evs] == [
        ("yarın gelirim", True), ("Jadi jam 8 ya", True), ("سأصل غدا", True),
        ("מחר בבוקר", True), ("Do zobaczenia", True),
        ("a <b>tag</b> is no marker <b>", None)]


def test_deleted_messages_in_more_locales(tmp_path: Path) -> None:
    texts = ["מחקת הודעה זו", "لقد حذفت هذه الرسالة", "আপনি এই মেসেজটি বাদ দিয়েছেন।",
             "此訊息已刪除。", "这条消息已被删除。", "이 메시지는 삭제되었습니다", "Det här meddelandet raderades",
             "Denne besked er blevet slettet", "Denne meldingen ble slettet",
             "Tämä viesti poistettiin",
             "Tato zpráva byla smazána", "Acest mesaj a fost șters", "Ez az üzenet törlésre került",
             "Αυτό το μήνυμα διαγράφηκε", "یہ میسج حذف کر دیا گیا ہے۔", "این پیام حذف شد",
             "यह मैसेज डिलीट कर दिया गया है", "Mesej ini telah dipadam",
             "This message was deleted by an admin"]
    lines = [f"15/09/2024, 20:{i:02d} - Dana Haddad: {t}" for i, t in enumerate(texts)]
    evs = parse(write(tmp_path, lines))
    assert [(e.kind, sender(e), e.body, e.properties.get("deleted")) for e in evs] == [
        ("message", "Dana Haddad", None, True)] * len(texts)


def test_android_file_attached_labels_in_arabic_hebrew_polish_and_more(tmp_path: Path) -> None:
    (tmp_path / "Plan.pdf").write_bytes(b"%PDF-1.4 synthetic")
    (tmp_path / "Ana Lima.vcf").write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Ana Lima\nTEL:+1 555 0100\nEND:VCARD\n", encoding="utf-8")
    labels = ["الملف مرفق", "ملف مرفق", "קובץ מצורף", "파일 첨부됨", "附件檔案", "bifogad fil",
              "fil vedhæftet", "vedlagt fil", "liitetiedosto", "soubor byl přiložen",
              "fișier atașat", "fájl csatolva", "συνημμένο αρχείο", "fail dilampirkan"]
    lines = [f"15/09/2024, 20:{i:02d} - Dana Haddad: Plan.pdf ({label})"
             for i, label in enumerate(labels)]
    lines.append("15/09/2024, 21:00 - Dana Haddad: Ana Lima.vcf (załączony plik)")
    evs = parse(write(tmp_path, lines))
    assert [(e.body, [a.name for a in e.attachments]) for e in evs[:-1]] == [
        (None, ["Plan.pdf"])] * len(labels)
    assert evs[0].attachments[0].size == len(b"%PDF-1.4 synthetic")
    card = evs[-1]
    assert card.properties["contact"] == {"name": "Ana Lima", "phones": ["+1 555 0100"]}


def test_marked_locations_keep_their_sender_in_rtl_and_other_locales(tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"[15/09/2024، 8:46:00 م] دانة: {RLM}الموقع: https://maps.google.com/?q=24.7,46.6",
        f"[15/09/2024، 8:47:00 م] עומר: {RLM}מיקום: https://maps.google.com/?q=32.08,34.78",
        f"[15/09/2024، 8:48:00 م] Anna Nowak: {LRM}Lokalizacja: "
        "https://maps.google.com/?q=52.23,21.01",
        f"[15/09/2024، 8:49:00 م] Erik: {LRM}Plats: https://maps.google.com/?q=59.33,18.06",
        f"[15/09/2024، 8:50:00 م] 민수: {LRM}위치: https://maps.google.com/?q=37.56,126.97",
    ])
    evs = parse(path)
    assert [(e.kind, sender(e)) for e in evs] == [
        ("message", "دانة"), ("message", "עומר"), ("message", "Anna Nowak"),
        ("message", "Erik"), ("message", "민수")]
    assert evs[1].properties["location"] == {"latitude": 32.08, "longitude": 34.78}


def test_missed_calls_in_more_locales(tmp_path: Path) -> None:
    texts = {"Nieodebrane połączenie": "voice", "부재중 영상통화": "video",
             "未接语音通话": "voice", "Missat videosamtal": "video",
             "Ubesvaret taleopkald": "voice", "Vastaamaton videopuhelu": "video",
             "Zmeškaný hovor": "voice", "Apel video nepreluat": "video",
             "Nem fogadott hanghívás": "voice", "Αναπάντητη βιντεοκλήση": "video",
             "মিসড ভয়েস কল": "voice", "تماس تصویری پاسخ داده نشده": "video",
             "मिस्ड वॉइस कॉल": "voice", "Panggilan video terlepas": "video"}
    lines = [f"[15.09.24, 20:{i:02d}:00] Dana Haddad: {LRM}{t}" for i, t in enumerate(texts)]
    lines.append("[15.09.24, 21:00:00] Dana Haddad: ok")
    evs = parse(write(tmp_path, lines))
    calls = evs[:-1]
    assert [(e.kind, e.properties.get("call")) for e in calls] == [
        ("system", {"media": m, "missed": True}) for m in texts.values()]
    assert all([p.value for p in e.parties] == ["Dana Haddad"] for e in calls)


def test_encryption_notice_without_marks_in_more_locales(tmp_path: Path) -> None:
    notices = [
        "Meddelanden och samtal är komplett krypterade. Ingen utanför denna chatt, inte ens "
        "WhatsApp, kan läsa dem eller lyssna på dem.",
        "메시지 및 전화는 종단간 암호화되어 안전합니다. 아무도 엿보거나 들을 수 없습니다.",
        "消息和通话都进行端到端加密。对话之外的任何人，甚至包含 WhatsApp，都无法读取或收听。",
        "Zprávy a hovory jsou opatřeny koncovým šifrováním. Nikdo, kdo není přímým účastníkem "
        "této konverzace, ji nemůže sledovat ani poslouchat.",
        "Τα μηνύματα και οι κλήσεις κρυπτογραφούνται πλήρως.",
        "Viestit ja puhelut salataan täysin. Kukaan tämän keskustelun ulkopuolinen ei voi "
        "lukea niitä.",
    ]
    lines = [f"[15.09.24, 20:00:{i:02d}] Dana Haddad: {t}" for i, t in enumerate(notices)]
    lines += ["[15.09.24, 20:01:00] Erik Berg: hej", "[15.09.24, 20:02:00] Dana Haddad: hej"]
    evs = parse(write(tmp_path, lines))
    assert [e.kind for e in evs] == ["system"] * len(notices) + ["message", "message"]
    # Two people: a one-to-one chat whose messages go to the other person.
    assert [p.value for p in evs[-1].parties] == ["Dana Haddad", "Erik Berg"]


def test_twelve_hour_markers_of_turkish_malay_czech_and_hebrew(tmp_path: Path) -> None:
    cases = [
        ("[03.05.2024 8:46:10 ÖS] Ayşe Demir: akşam", "[03.05.2024 9:05:00 ÖÖ] Ayşe Demir: "
         "sabah"),
        ("03/05/2024, 8:46 PTG - Siti Aminah: petang", "03/05/2024, 9:05 PG - Siti Aminah: "
         "pagi"),
        ("03.05.24 8:46 odp. - Jana Nováková: večer", "03.05.24 9:05 dop. - Jana Nováková: "
         "ráno"),
        ('[3.5.2024, 8:46:10 אחה"צ] דנה כהן: ערב', "[3.5.2024, 9:05:00 לפנה״צ] דנה כהן: בוקר"),
    ]
    for i, (pm, am) in enumerate(cases):
        evs = parse(write(tmp_path, [pm, am], name=f"chat{i}.txt"))
        assert [e.occurred_at.replace(second=0) for e in evs] == [
            datetime(2024, 5, 3, 20, 46), datetime(2024, 5, 3, 9, 5)], pm
        assert evs[0].properties["date_order"] == "dmy"


def test_phone_number_sender_is_one_account_whatever_marks_surround_it(
        tmp_path: Path) -> None:
    path = write(tmp_path, [
        f"{RLM}[15/09/2024، 8:46:00 م] {RLE}دانة{PDF}: مرحبا",
        f"[15/09/2024، 8:47:00 م] {LRE}+1 (555) 010-0000{PDF}: hi",
        f"{RLM}[15/09/2024، 8:48:00 م] {RLM}{LRE}+1 (555) 010-0000{PDF}{RLM}: again",
        f"[15/09/2024، 8:49:00 م] {FSI}+1 (555) 010-0000{PDI}: third",
        "[15/09/2024، 8:50:00 م] +1\u00a0(555)\u00a0010-0000: fourth",
        f"[15/09/2024، 8:51:00 م] {RLM}دانة{RLM}: أهلا",
    ])
    evs = parse(path)
    senders = [next(p for p in e.parties if p.role == "sender") for e in evs]
    assert [s.value for s in senders] == ["دانة"] + ["+1 (555) 010-0000"] * 4 + ["دانة"]
    assert {s.properties.get("phone") for s in senders[1:5]} == {"+15550100000"}
    # A one-to-one chat: each message goes to the other person, not to a third account.
    assert [p.value for p in evs[4].parties] == ["+1 (555) 010-0000", "دانة"]


def test_whatsapp_web_and_desktop_export(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
        "WhatsApp, can read or listen to them.",
        "Some earlier messages may not be available.",
        '[3/4/25, 9:05:00 AM] - Ana Lima created group "Trip"',
        "[3/4/25, 9:06:00 AM] - Ana Lima added Ben Ito",
        "[3/4/25, 9:07:00 AM] Ana Lima: Hallo zusammen",
        "[3/4/25, 9:08:00 AM] Ben Ito: [Forwarded] Fahrplan ab Montag",
        "[3/5/25, 9:09:00 AM] Ben Ito: <Bild weggelassen> der Strand",
        "[3/5/25, 9:10:00 PM] Ana Lima: <voice message omitted>",
        "[3/6/25, 9:11:00 PM] Ben Ito: Waiting for this message. This may take a while.",
        "[3/6/25, 9:12:00 PM] Ana Lima: Poll: Wohin?",
        "    - Lissabon",
        "    - Porto",
    ])
    records = list(P.parse(path, ImportOptions()))
    assert not [r for r in records if isinstance(r, RowError)]
    evs = [r for r in records if isinstance(r, ParsedEvent)]
    assert [(e.kind, sender(e), e.occurred_at) for e in evs] == [
        ("system", None, datetime(2025, 3, 4, 9, 5)),
        ("system", None, datetime(2025, 3, 4, 9, 6)),
        ("message", "Ana Lima", datetime(2025, 3, 4, 9, 7)),
        ("message", "Ben Ito", datetime(2025, 3, 4, 9, 8)),
        ("message", "Ben Ito", datetime(2025, 3, 5, 9, 9)),
        ("message", "Ana Lima", datetime(2025, 3, 5, 21, 10)),
        ("message", "Ben Ito", datetime(2025, 3, 6, 21, 11)),
        ("message", "Ana Lima", datetime(2025, 3, 6, 21, 12)),
    ]
    assert evs[1].title == "Ana Lima added Ben Ito"
    assert (evs[3].body, evs[3].properties.get("forwarded")) == ("Fahrplan ab Montag", "once")
    assert (evs[4].body, evs[4].properties.get("media_kind")) == ("der Strand", "image")
    assert (evs[5].body, evs[5].properties.get("media_kind")) == (None, "audio")
    assert (evs[6].body, evs[6].properties.get("undecrypted")) == (None, True)
    assert evs[7].properties["poll"] == {"question": "Wohin?", "answers": [
        {"text": "Lissabon", "votes": None}, {"text": "Porto", "votes": None}]}
    assert evs[2].properties["date_order"] == "mdy"
    assert P.sniff(path, path.read_bytes()) >= 0.9
