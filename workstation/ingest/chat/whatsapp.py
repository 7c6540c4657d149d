"""WhatsApp "Export chat" text files, every platform and locale we know of.

A message starts with a header line and may continue over the following lines:

* iOS:      ``[8/15/23, 9:12:33 AM] Name: text``  ``[15.08.23, 09:12:33] Name: text``
* Android:  ``8/15/23, 9:12 AM - Name: text``     ``15/08/2023, 09:12 - Name: text``
* others:   ``[2023/5/4, 16:13:23]``, ``2023. 8. 15. 오후 9:12 -``, ``2023/8/15 下午9:12 -``,
  ``a.m.``/``p. m.``, lower-case am/pm, U+202F before AM/PM, U+200E marks anywhere.
* before 2017: ``6/23/16, 12:29:34 PM: Name: text``, ``12.07.2016, 22:35: Name: text``.
* WhatsApp Web / Desktop: undated notices on top (the encryption notice, "Some earlier
  messages may not be available."), then ``[3/4/25, 9:05:00 AM] Name: text`` and
  ``[3/4/25, 9:06:00 AM] - notice``. Its dates are always month first whatever the
  language, so such a file is read month first (basis "format") unless a date shows
  otherwise. It writes "[Forwarded] " before forwarded text (``properties["forwarded"]``),
  "<image omitted> caption", "Poll: question" with "    - option" lines, and "Waiting
  for this message..." for one never decrypted (``properties["undecrypted"]``).

Lines that do not start with a header are continuation lines of the message above (a
stray garbage line is therefore kept as text, never an error). Header lines with no
"Name:" part, and iOS lines whose text starts with U+200E that are not media placeholders,
are system lines (kind "system"), as is the end-to-end-encryption notice.

Dates are written in the exporting phone's locale, so day/month order is decided per file
in a first streaming pass over all headers: a number above 12 in a position decides; the
file's language (placeholder words) and then AM/PM-ness are the fallback (12-hour files
month-first, 24-hour and non-English files day-first). An explicit
``options.profile["date_order"]`` ("dmy" or "mdy") overrides. The decision is kept in
``properties["date_order"]`` and ``properties["date_order_basis"]``. Times are naive: the
pipeline applies the import's timezone.

Phones set to another calendar write its years: Thai phones Buddhist-era years (2567),
Iranian phones Solar Hijri (Jalali) years such as 1402, phones on the Islamic calendar
Umm al-Qura (Hijri) years such as 1445. Buddhist years (2400 and up) are told by their
range. A four-digit year from 1300 to 1599 is never Gregorian in a WhatsApp export, and
its calendar is decided once per file (``_decide_calendar``): an explicit
``options.profile["calendar"]`` ("gregorian", "jalali"/"persian", "hijri"/
"islamic-umalqura"); else the locale the headers show (Persian digits or "ق.ظ."/"ب.ظ."
mean Jalali, Arabic-Indic digits, "ص"/"م" or the "هـ" era mark mean Hijri); else the one
calendar in which every date exists and falls within WhatsApp's lifetime. When that
leaves no single calendar the file is refused with a ParseError that says what each
calendar would make of the dates, rather than guessed. Dates are converted to Gregorian
(``jdatetime``, ``hijridate``); ``properties["calendar"]`` and ``["calendar_basis"]``
keep the decision.

Both passes read the file line by line, so memory stays flat for any size. The export
zip (iOS always zips; Android does when media is included) is read in place: the chat
text is streamed out of it, and attached media get their size, SHA-256 and MD5 from the
zip members (or from files beside an unzipped ``.txt``, read strictly inside its folder).
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import jdatetime
from hijridate import Hijri

from workstation.ingest.chat._common import (
    BIDI_MARKS,
    ExportFiles,
    FileHashes,
    account,
    group,
    guess_mime,
    hash_stream,
    head_text,
    looks_binary,
    recipients_for,
    safe_relpath,
    strip_marks,
)
from workstation.ingest.records import (
    Attachment,
    ImportOptions,
    ParsedEvent,
    Notice,
    ParseError,
    Party,
    Record,
    RowError,
    forced_date_order,
)
from workstation.ingest.chat.safezip import SafeZip
from workstation.ingest.textio import SAMPLE_BYTES, detect_encoding, open_text

PLATFORM = "whatsapp"

_M = f"[{BIDI_MARKS}]"
_SP = "[ \u00a0\u202f]"
# 12-hour markers written after the time: English (AM, am, a.m., Spanish "p. m."), Greek,
# Arabic, Persian, Vietnamese, Thai, Swedish/Norwegian, Finnish, Afrikaans, Turkish
# (ÖÖ/ÖS), Malay (PG/PTG), Czech (dop./odp.), Hebrew (לפנה״צ/אחה״צ, also with a '"'). The header
# must still end in " - ", "]" or ": " right after it, so the short ones cannot eat message
# text. Exports before 2017 (iOS and Android alike) end the header with ": " instead of
# " - " ("6/23/17, 12:29:34 PM: Name: text"); such a line only counts as a header in a file
# whose first header has that form, so a modern message line that happens to start with a
# date and "HH:MM: " stays text.
_AMPM_AFTER = (rf"[AaPp]\.?{_SP}?[Mm]\.?|π\.?{_SP}?μ\.?|μ\.?{_SP}?μ\.?|ق\.?{_SP}?ظ\.?|"
               rf"ب\.?{_SP}?ظ\.?|ص|م|SA|CH|ก่อนเที่ยง|หลังเที่ยง|[fe]\.?{_SP}?m\.?|"
               rf"[ai]p\.|[vn]m\.|ÖÖ|ÖS|PTG|PG|dop\.|odp\.|לפנה[\"״]צ|אחה[\"״]צ")
# The leading marks are possessive: a line of thousands of marks that is no header is
# then refused in one pass, not after trying each way of sharing them out.
_HEADER_RE = re.compile(
    rf"""^{_M}*+[ \t]*+
    (?P<open>\[)?{_M}*+
    (?P<d1>\d{{1,4}}){_M}*(?P<sep>[./\-])[ ]?(?P<d2>\d{{1,2}}){_M}*(?P=sep)[ ]?
    (?P<jera>[RHS](?=\d))?(?P<d3>\d{{1,4}})\.?(?:{_SP}?(?:(?P<era>هـ)|(?P<be>BE|B\.E\.|พ\.{_SP}?ศ\.)))?
    (?:[,\u060c]{_SP}*|{_SP}+)(?:(?:klo|à|um|kl\.|saat){_SP}+)?
    (?:(?P<ap1>오전|오후|上午|下午|午前|午後|de\.|du\.){_SP}?)?
    (?P<h>\d{{1,2}})(?:[:.]|{_SP}?h{_SP}?)(?P<mi>\d{{2}})(?:[:.](?P<s>\d{{2}}))?
    (?P<junk>_)?
    (?:{_SP}*(?P<ap2>{_AMPM_AFTER}))?
    {_M}*
    (?(open)\]{_SP}?|(?:{_SP}{{0,3}}[-\u2013]{_SP}|(?P<colon>:){_SP}))
    (?P<rest>.*)$""",
    re.X)
# Vietnamese iOS writes the time first: "[14:56:01, 3/18/22] Name: text" (bracketed only:
# a continuation line starting "10:30, 5/6/24 - " is likelier text than a header).
_HEADER_TIME_FIRST_RE = re.compile(
    rf"""^{_M}*+[ \t]*+(?P<open>\[){_M}*+
    (?P<h>\d{{1,2}})[:.](?P<mi>\d{{2}})(?:[:.](?P<s>\d{{2}}))?
    (?:{_SP}*(?P<ap2>{_AMPM_AFTER}))?
    ,?{_SP}+(?P<d1>\d{{1,4}})(?P<sep>[./\-])(?P<d2>\d{{1,2}})(?P=sep)(?P<d3>\d{{1,4}})\.?
    {_M}*\]{_SP}?(?P<rest>.*)$""",
    re.X)
# Japanese phones set to the imperial calendar write the era's initial and its year
# ("3/27/R4" is 27 March 2022): the year before each era's first.
_JAPANESE_ERAS = {"R": 2018, "H": 1988, "S": 1925}
_NAME_RE = re.compile(r"^(?P<name>[^:\n]{1,120}?):(?:[ \u00a0\t]|$)(?P<text>.*)$", re.S)

# Markers with dots and spaces removed, lower case.
_AM = {"am", "오전", "上午", "午前", "de", "πμ", "ص", "قظ", "sa", "ก่อนเที่ยง", "fm", "ap", "vm",
       "öö", "pg", "dop", 'לפנה"צ', "לפנה״צ"}
_PM = {"pm", "오후", "下午", "午後", "du", "μμ", "م", "بظ", "ch", "หลังเที่ยง", "em", "ip", "nm",
       "ös", "ptg", "odp", 'אחה"צ', "אחה״צ"}
# What a header's locale tells of the calendar behind a non-Gregorian year: Persian writes
# its own digits and "ق.ظ."/"ب.ظ.", Arabic its digits and "ص"/"م" (markers as in _AM/_PM).
_PERSIAN_DIGITS = frozenset("۰۱۲۳۴۵۶۷۸۹")
_ARABIC_DIGITS = frozenset("٠١٢٣٤٥٦٧٨٩")
_CALENDAR_OF_MARKER = {"قظ": "jalali", "بظ": "jalali", "ص": "hijri", "م": "hijri"}
# Four-digit years that are Jalali or Hijri: WhatsApp (2009 on) is 1387 AP / 1430 AH on,
# while a Gregorian year in an export is 2009 or later.
_HIJRI_ERA_YEARS = range(1300, 1600)
_CALENDARS = {"jalali": "Jalali (Solar Hijri)", "hijri": "Hijri (Umm al-Qura)"}
_CALENDAR_CHOICES = {"gregorian": "gregorian", "jalali": "jalali", "persian": "jalali",
                     "hijri": "hijri", "islamic-umalqura": "hijri"}
_WHATSAPP_FIRST_DAY = date(2009, 1, 1)

# Markers only non-English locales write; all of those locales put the day first (or the
# year first, which the date shape shows anyway). Spanish "p. m." has a space.
_SPANISH_AMPM_RE = re.compile(rf"^[ap]\.{_SP}+m\.$", re.I)

# Media-placeholder vocabulary per language (lower case). English entries do not hint at
# a date order (US and UK phones share them); any other language means day-first.
_KIND_WORDS: dict[str, tuple[str, str]] = {
    "image": ("image", "en"), "photo": ("image", "en"), "video": ("video", "en"),
    "audio": ("audio", "en"), "sticker": ("sticker", "en"), "gif": ("gif", "en"),
    "document": ("document", "en"), "contact card": ("contact", "en"),
    "vcard": ("contact", "en"),
    "imagen": ("image", "es"), "imagem": ("image", "pt"), "immagine": ("image", "it"),
    "bild": ("image", "de"), "afbeelding": ("image", "nl"), "foto": ("image", "es"),
    "vídeo": ("video", "pt"), "vidéo": ("video", "fr"), "áudio": ("audio", "pt"),
    "figurinha": ("sticker", "pt"), "autocollant": ("sticker", "fr"),
    "documento": ("document", "es"), "dokument": ("document", "de"),
    "kontaktkarte": ("contact", "de"), "tarjeta de contacto": ("contact", "es"),
    "cartão de contato": ("contact", "pt"), "изображение": ("image", "ru"),
    "видео": ("video", "ru"), "аудиофайл": ("audio", "ru"), "стикер": ("sticker", "ru"),
    "документ": ("document", "ru"),
    "תמונה": ("image", "he"), "סרטון": ("video", "he"), "סטיקר": ("sticker", "he"),
    "מסמך": ("document", "he"), "הודעה קולית": ("audio", "he"),
    "כרטיס איש קשר": ("contact", "he"),
}
_OMIT_VERBS: dict[str, str] = {
    "omitted": "en", "weggelassen": "de", "omitida": "es", "omitido": "es", "omessa": "it",
    "omesso": "it", "weggelaten": "nl", "absente": "fr", "omis": "fr", "omise": "fr",
    "ocultada": "pt", "ocultado": "pt", "oculto": "pt", "oculta": "pt",
    "отсутствует": "ru", "הושמטה": "he", "הושמט": "he",
}
_MEDIA_OMITTED: dict[str, str] = {
    "media omitted": "en", "medien ausgeschlossen": "de", "medien weggelassen": "de",
    "multimedia omitido": "es", "archivo multimedia omitido": "es", "mídia oculta": "pt",
    "arquivo de mídia oculto": "pt", "médias omis": "fr", "fichier multimédia omis": "fr",
    "media omessi": "it", "media weggelaten": "nl", "без медиафайлов": "ru",
    "medya dahil edilmedi": "tr", "media tidak disertakan": "id",
    "pominięto multimedia": "pl", "מדיה הושמטה": "he",
    # Android's other wordings of the same string (values-*/strings.xml), for the
    # locales whose label holds no word of _MEDIA_WORDS.
    "fichier omis": "fr", "archivo omitido": "es", "ficheiro não revelado": "pt",
    "mídia omitida": "pt", "media omesso": "it", "pliki pominięto": "pl",
    "medya atlanmış": "tr", "файл пропущен": "ru",
    # Arabic and Hebrew as current Android exports write them; then the remaining
    # locales' export_media_omitted strings (Android strings.xml).
    "تم استبعاد الوسائط": "ar", "המדיה לא נכללה": "he",
    "メディアは含まれていません": "ja", "미디어 파일을 생략한 대화내용": "ko",
    "省略多媒体文件": "zh", "忽略多媒體檔": "zh", "मीडिया के बिना": "hi",
    "মিডিয়া বাদ দেওয়া হয়েছে": "bn", "میڈیا چھوڑ دیا گیا": "ur",
    "پيوست نما/آهنگ حذف شد": "fa", "media disingkirkan": "ms",
    "media har utelämnats": "sv", "uten vedlegg": "nb", "mediefil udeladt": "da",
    "media jätetty pois": "fi", "média vynechána": "cs", "média vynechány": "cs",
    "conținut media omis": "ro", "hiányzó médiafájl": "hu", "εξαίρεση πολυμέσων": "el",
}
# iOS writes one placeholder per media type (Localizable.strings). The English ones, and
# those the "<kind word> <verb>" reading below already knows, are not repeated here; these
# are the main locales' wordings it cannot read (several words, verb first, no kind word).
_OMITTED_PHRASES: dict[str, tuple[str, str]] = {
    "görüntü dahil edilmedi": ("image", "tr"), "video dahil edilmedi": ("video", "tr"),
    "ses dahil edilmedi": ("audio", "tr"), "çıkartma dahil edilmedi": ("sticker", "tr"),
    "gif dahil edilmedi": ("gif", "tr"), "belge dahil edilmedi": ("document", "tr"),
    "kişi kartı dahil edilmedi": ("contact", "tr"),
    "image absente": ("image", "fr"), "vidéo absente": ("video", "fr"),
    "audio omis": ("audio", "fr"), "sticker omis": ("sticker", "fr"),
    "gif retiré": ("gif", "fr"), "gif omis": ("gif", "fr"),
    "document manquant": ("document", "fr"), "document omis": ("document", "fr"),
    "fiche contact manquante": ("contact", "fr"),
    "imagen omitida": ("image", "es"), "video omitido": ("video", "es"),
    "audio omitido": ("audio", "es"), "sticker omitido": ("sticker", "es"),
    "gif omitido": ("gif", "es"), "documento omitido": ("document", "es"),
    "tarjeta de contacto omitida": ("contact", "es"),
    "immagine omessa": ("image", "it"), "video omesso": ("video", "it"),
    "audio omesso": ("audio", "it"), "sticker non incluso": ("sticker", "it"),
    "gif esclusa": ("gif", "it"), "documento omesso": ("document", "it"),
    "scheda contatto omessa": ("contact", "it"),
    "imagem não revelada": ("image", "pt"), "imagem ocultada": ("image", "pt"),
    "vídeo não revelado": ("video", "pt"), "vídeo omitido": ("video", "pt"),
    "ficheiro de áudio não revelado": ("audio", "pt"), "áudio ocultado": ("audio", "pt"),
    "sticker não revelado": ("sticker", "pt"), "figurinha omitida": ("sticker", "pt"),
    "gif não revelada": ("gif", "pt"), "documento não revelado": ("document", "pt"),
    "contacto não revelado": ("contact", "pt"), "cartão do contato omitido": ("contact", "pt"),
    "bild weggelassen": ("image", "de"), "video weggelassen": ("video", "de"),
    "audio weggelassen": ("audio", "de"), "sticker weggelassen": ("sticker", "de"),
    "gif weggelassen": ("gif", "de"), "dokument weggelassen": ("document", "de"),
    "kontaktkarte ausgelassen": ("contact", "de"),
    "afbeelding weggelaten": ("image", "nl"), "video weggelaten": ("video", "nl"),
    "audio weggelaten": ("audio", "nl"), "sticker weggelaten": ("sticker", "nl"),
    "gif weggelaten": ("gif", "nl"), "document weggelaten": ("document", "nl"),
    "visitekaartje weggelaten": ("contact", "nl"),
    "изображение отсутствует": ("image", "ru"), "видео отсутствует": ("video", "ru"),
    "аудиофайл отсутствует": ("audio", "ru"), "стикер не добавлен": ("sticker", "ru"),
    "gif отсутствует": ("gif", "ru"), "документ отсутствует": ("document", "ru"),
    "карточка контакта отсутствует": ("contact", "ru"),
    "gambar tidak disertakan": ("image", "id"), "video tidak disertakan": ("video", "id"),
    "audio tidak disertakan": ("audio", "id"), "stiker tidak disertakan": ("sticker", "id"),
    "gif tidak disertakan": ("gif", "id"), "dokumen tidak disertakan": ("document", "id"),
    "kartu kontak tidak disertakan": ("contact", "id"),
    "obraz pominięty": ("image", "pl"), "wideo pominięte": ("video", "pl"),
    "audio pominięte": ("audio", "pl"), "pominięto naklejkę": ("sticker", "pl"),
    "plik gif pominięty": ("gif", "pl"), "dokument pominięty": ("document", "pl"),
    "pominięta wizytówka kontaktu": ("contact", "pl"),
    "зображення відсутнє": ("image", "uk"), "відео відсутнє": ("video", "uk"),
    "аудіо відсутнє": ("audio", "uk"), "наклейку не додано": ("sticker", "uk"),
    "gif-анімацію пропущено": ("gif", "uk"), "документ пропущено": ("document", "uk"),
    "картка контакту відсутня": ("contact", "uk"),
    "đã bỏ qua hình ảnh": ("image", "vi"), "đã bỏ video": ("video", "vi"),
    "bỏ qua tệp âm thanh": ("audio", "vi"), "đã bỏ sticker": ("sticker", "vi"),
    "đã bỏ qua ảnh gif": ("gif", "vi"), "đã bỏ qua tài liệu": ("document", "vi"),
    "bỏ qua thẻ liên lạc": ("contact", "vi"),
    "ไม่มีรูปภาพ": ("image", "th"), "วิดีโอถูกลบ": ("video", "th"),
    "ไม่มีไฟล์เสียง": ("audio", "th"), "ไม่มีสติกเกอร์": ("sticker", "th"),
    "ละเว้น gif": ("gif", "th"), "ละเว้นเอกสาร": ("document", "th"),
    "บัตรรายชื่อที่ละเว้น": ("contact", "th"),
    # Japanese writes no space before the placeholder ("Report.pdf ドキュメントは…" has one
    # only after a file name); each is one "word".
    "画像は含まれていません": ("image", "ja"), "ビデオは含まれていません": ("video", "ja"),
    "音声は含まれていません": ("audio", "ja"), "スタンプは含まれていません": ("sticker", "ja"),
    "gifは含まれていません": ("gif", "ja"), "ドキュメントは含まれていません": ("document", "ja"),
    "連絡先カードを省略": ("contact", "ja"),
    # WhatsApp Web and Desktop name voice and video notes, and locations.
    "voice message omitted": ("audio", "en"), "video message omitted": ("video", "en"),
    "location omitted": ("location", "en"), "live location omitted": ("location", "en"),
    "konum dahil edilmedi": ("location", "tr"), "görüntülü not çıkarıldı": ("video", "tr"),
    # Hebrew writes the definite article where the "<kind> <verb>" reading needs none.
    "התמונה הושמטה": ("image", "he"), "סרטון הווידאו הושמט": ("video", "he"),
    "קטע קול הושמט": ("audio", "he"),
    "لم يتم إدراج الصورة": ("image", "ar"), "لم يتم إدراج الفيديوهات": ("video", "ar"),
    "لم يتم إدراج المقاطع الصوتية": ("audio", "ar"), "تم حذف الملصقات": ("sticker", "ar"),
    "لم يتم إدراج صورة gif": ("gif", "ar"), "لم يتم إدراج المستند": ("document", "ar"),
    "لم يتم إدراج بطاقة جهة اتصال": ("contact", "ar"),
    "ইমেজ বাদ দেওয়া হয়েছে": ("image", "bn"), "ভিডিও বাদ দেওয়া হয়েছে": ("video", "bn"),
    "অডিও বাদ দেওয়া হয়েছে": ("audio", "bn"), "স্টিকার বাদ দেওয়া হয়েছে": ("sticker", "bn"),
    "জিআইএফ বাদ দেওয়া হয়েছে": ("gif", "bn"), "ডকুমেন্ট বাদ দেওয়া হয়েছে": ("document", "bn"),
    "পরিচিতির কার্ড বাদ দেওয়া হয়েছে": ("contact", "bn"),
    # Chinese: Hong Kong, Taiwan, then Simplified (each one "word": no spaces).
    "圖片已略去": ("image", "zh"), "影片已略去": ("video", "zh"), "音訊已略去": ("audio", "zh"),
    "貼圖已略去": ("sticker", "zh"), "gif 已略去": ("gif", "zh"), "文件已略去": ("document", "zh"),
    "聯絡人卡片已略去": ("contact", "zh"),
    "圖像已省略": ("image", "zh"), "影片已省略": ("video", "zh"), "音訊已省略": ("audio", "zh"),
    "貼圖已忽略": ("sticker", "zh"), "gif 圖片已被省略": ("gif", "zh"),
    "文件已忽略": ("document", "zh"), "聯絡人卡片已省略": ("contact", "zh"),
    "照片已忽略": ("image", "zh"), "视频已忽略": ("video", "zh"), "音频已忽略": ("audio", "zh"),
    "贴图已省略": ("sticker", "zh"), "gif 动态图已被忽略": ("gif", "zh"),
    "文档已省略": ("document", "zh"), "联系人卡片已忽略": ("contact", "zh"),
    "تصویر نکال دی گئی ہے": ("image", "ur"), "ویڈیو نظرانداز": ("video", "ur"),
    "آڈیو نظرانداز": ("audio", "ur"), "اسٹیکر نظرانداز": ("sticker", "ur"),
    "gif نظرانداز": ("gif", "ur"), "دستاویز نظرانداز": ("document", "ur"),
    "رابطہ کارڈ نظر انداز": ("contact", "ur"),
    "تصویر حذف شد": ("image", "fa"), "ویدیو حذف شد": ("video", "fa"),
    "صدا حذف شد": ("audio", "fa"), "استیکر حذف شد": ("sticker", "fa"),
    "gif حذف شد": ("gif", "fa"), "سند حذف شد": ("document", "fa"),
    "برگ مخاطب حذف شد": ("contact", "fa"),
    "फ़ोटो हटाई गई": ("image", "hi"), "वीडियो छोड़ा गया": ("video", "hi"),
    "ऑडियो हटाई गयी": ("audio", "hi"), "स्टिकर छोड़ा गया": ("sticker", "hi"),
    "gif छोड़ा गया": ("gif", "hi"), "डॉक्यूमेंट छोड़ा गया": ("document", "hi"),
    "कॉन्टैक्ट कार्ड छोड़ा गया": ("contact", "hi"),
    "이미지 생략됨": ("image", "ko"), "비디오 생략됨": ("video", "ko"),
    "오디오 생략됨": ("audio", "ko"), "스티커 제외됨": ("sticker", "ko"),
    "gif 생략됨": ("gif", "ko"), "문서 생략됨": ("document", "ko"),
    "연락처 카드 생략됨": ("contact", "ko"),
    "imej tidak dimasukkan": ("image", "ms"), "video tidak dimasukkan": ("video", "ms"),
    "audio tidak dimasukkan": ("audio", "ms"), "pelekat tidak disertakan": ("sticker", "ms"),
    "gif tidak dimasukkan": ("gif", "ms"), "dokumen tidak dimasukkan": ("document", "ms"),
    "kad kenalan tidak dimasukkan": ("contact", "ms"),
    "bild utesluten": ("image", "sv"), "video utesluten": ("video", "sv"),
    "ljud utelslutet": ("audio", "sv"), "sticker utesluten": ("sticker", "sv"),
    "gif utesluten": ("gif", "sv"), "dokument uteslutet": ("document", "sv"),
    "kontaktkort uteslutet": ("contact", "sv"),
    "billede udeladt": ("image", "da"), "video udeladt": ("video", "da"),
    "lyd udeladt": ("audio", "da"), "klistermærke udeladt": ("sticker", "da"),
    "gif udeladt": ("gif", "da"), "dokument udeladt": ("document", "da"),
    "kontaktkort udeladt": ("contact", "da"),
    "bilde ikke inkludert": ("image", "nb"), "video utelatt": ("video", "nb"),
    "lyd utelatt": ("audio", "nb"), "klistremerke utelatt": ("sticker", "nb"),
    "gif utelatt": ("gif", "nb"), "utelatt dokument": ("document", "nb"),
    "kontaktkort sløyfet": ("contact", "nb"),
    "ei kuvaa": ("image", "fi"), "videota ei sisällytetä": ("video", "fi"),
    "äänitiedostoa ei sisällytetä": ("audio", "fi"), "tarraa ei sisällytetty": ("sticker", "fi"),
    "gif-animaatio jätetty pois": ("gif", "fi"), "dokumenttia ei sisällytetä": ("document", "fi"),
    "yhteystietokortti jätettiin pois": ("contact", "fi"),
    "obrázek vynechán": ("image", "cs"), "video vynecháno": ("video", "cs"),
    "zvukový soubor vynechán": ("audio", "cs"), "nálepka vynechána": ("sticker", "cs"),
    "gif vynechán": ("gif", "cs"), "dokument vynechán": ("document", "cs"),
    "vizitka vynechána": ("contact", "cs"),
    "imagine omisă": ("image", "ro"), "clip video omis": ("video", "ro"),
    "fără audio": ("audio", "ro"), "carte de vizită contact omisă": ("contact", "ro"),
    "kép küldése sikertelen": ("image", "hu"), "videó kihagyva": ("video", "hu"),
    "hang kihagyása": ("audio", "hu"), "matrica kihagyva": ("sticker", "hu"),
    "gif fájl kihagyása": ("gif", "hu"), "dokumentum kihagyva": ("document", "hu"),
    "névjegykártya kihagyva": ("contact", "hu"),
    "εικόνα παραλείφθηκε": ("image", "el"), "βίντεο παραλείφθηκε": ("video", "el"),
    "ήχος παραλείφθηκε": ("audio", "el"), "αυτοκόλλητο παραλήφθηκε": ("sticker", "el"),
    "παράληψη gif": ("gif", "el"), "έγγραφο παραλείφθηκε": ("document", "el"),
    "η κάρτα επαφής παραλήφθηκε": ("contact", "el"),
}
_OMITTED_PHRASE_ENDS = frozenset(p.rsplit(None, 1)[-1] for p in _OMITTED_PHRASES)
_MEDIA_WORDS = ("media", "medien", "multimedia", "mídia", "médias", "медиа", "medya")
_ATTACHED: dict[str, str] = {
    "file attached": "en", "datei angehängt": "de", "archivo adjunto": "es",
    "arquivo anexado": "pt", "fichier joint": "fr", "file allegato": "it",
    "bestand bijgevoegd": "nl", "файл добавлен": "ru", "dosya ekli": "tr",
    "file terlampir": "id", "plik załączony": "pl", "załączony plik": "pl",
    "الملف مرفق": "ar", "ملف مرفق": "ar", "קובץ מצורף": "he", "添付ファイル有り": "ja",
    "파일 첨부됨": "ko", "附件檔案": "zh", "文件附件": "zh", "फाइल संलग्न": "hi",
    "फाइल अटैच कर दी गई है": "hi", "ফাইল সংযুক্ত হয়েছে": "bn", "پیوستہ فائل": "ur",
    "fail dilampirkan": "ms", "bifogad fil": "sv", "fil vedhæftet": "da", "vedlagt fil": "nb",
    "liitetiedosto": "fi", "soubor byl přiložen": "cs", "fișier atașat": "ro",
    "fájl csatolva": "hu", "συνημμένο αρχείο": "el",
}
_ATTACHED_LABELS: dict[str, str] = {
    "attached": "en", "anhang": "de", "adjunto": "es", "anexo": "pt", "pièce jointe": "fr",
    "allegato": "it", "bijlage": "nl", "вложение": "ru",
    # The other locales' iOS labels (Localizable.strings), Arabic without its vowel marks.
    "eklendi": "tr", "terlampir": "id", "załączono": "pl", "المرفق": "ar", "מצורף": "he",
    "添付ファイル": "ja", "첨부됨": "ko", "附件": "zh", "अटैच किया गया": "hi",
    "پیوست": "fa", "پیوستہ": "ur", "dilampir": "ms", "bifogat": "sv", "vedhæftet": "da",
    "vedlagt": "nb", "liite": "fi", "příloha": "cs", "atașare": "ro", "csatolva": "hu",
    "επισυνάφθηκε": "el", "đính kèm": "vi", "แนบ": "th", "додано": "uk",
}
_DELETED: dict[str, str] = {
    "this message was deleted": "en", "you deleted this message": "en",
    "diese nachricht wurde gelöscht": "de", "du hast diese nachricht gelöscht": "de",
    "se eliminó este mensaje": "es", "eliminaste este mensaje": "es",
    "mensagem apagada": "pt", "você apagou esta mensagem": "pt",
    "ce message a été supprimé": "fr", "vous avez supprimé ce message": "fr",
    "questo messaggio è stato eliminato": "it", "hai eliminato questo messaggio": "it",
    "dit bericht is verwijderd": "nl", "je hebt dit bericht verwijderd": "nl",
    "это сообщение удалено": "ru", "вы удалили это сообщение": "ru",
    "הודעה זו נמחקה": "he", "מחקת את ההודעה הזו": "he",
    # Further wordings of the same two strings (iOS Localizable.strings, Android
    # revoked_msg_incoming / revoked_msg_outgoing).
    "este mensaje fue eliminado": "es", "esta mensagem foi apagada": "pt",
    "esta mensagem foi apagada pelo remetente": "pt", "apagou esta mensagem": "pt",
    "u hebt dit bericht verwijderd": "nl", "данное сообщение удалено": "ru",
    "вы удалили данное сообщение": "ru", "bu mesaj silindi": "tr",
    "bu mesajı sildiniz": "tr", "pesan ini dihapus": "id", "pesan ini telah dihapus": "id",
    "anda menghapus pesan ini": "id", "anda telah menghapus pesan ini": "id",
    "ta wiadomość została usunięta": "pl", "usunąłeś(-ęłaś) tę wiadomość": "pl",
    "usunąłeś(aś) tę wiadomość": "pl", "تم حذف هذه الرسالة": "ar",
    "لقد حذَفت هذه الرسالة": "ar", "أنت حذفت هذه الرسالة": "ar",
    "це повідомлення було видалено": "uk", "ви видалили це повідомлення": "uk",
    "tin nhắn này đã bị xóa": "vi", "tin nhắn này đã bị xoá": "vi",
    "bạn đã xoá tin nhắn này": "vi", "bạn đã xóa tin nhắn này": "vi",
    "ข้อความนี้ถูกลบแล้ว": "th", "คุณได้ลบข้อความนี้": "th",
    "このメッセージは削除されました": "ja", "このメッセージを削除しました": "ja",
    "מחקת הודעה זו": "he",
    # WhatsApp Web and Desktop, when an admin deleted a message.
    "this message was deleted by an admin": "en", "you deleted this message as admin": "en",
    # The other locales (iOS Localizable.strings, Android revoked_msg_*).
    "এই মেসেজটি বাদ দেওয়া হয়েছে": "bn", "আপনি এই মেসেজটি বাদ দিয়েছেন": "bn",
    "এই বার্তাটি মুছে ফেলা হয়েছে": "bn", "আপনি এই বার্তাটি মুছে ফেলেছেন": "bn",
    "此訊息已刪除": "zh", "您已刪除此訊息": "zh", "这条消息已被删除": "zh",
    "您已删除这条消息": "zh", "信息已删除": "zh", "您删除这个信息": "zh",
    "یہ میسج حذف کر دیا گیا ہے": "ur", "آپ نے یہ میسج حذف کر دیا ہے": "ur",
    "یہ پیغام حذف کیا گیا": "ur", "آپ نے اس پیغام کو حذف کیا": "ur",
    "این پیام حذف شده است": "fa", "این پیام حذف شد": "fa", "شما این پیام را حذف کردید": "fa",
    "यह मैसेज डिलीट कर दिया गया है": "hi", "आपने यह मैसेज डिलीट किया": "hi",
    "यह संदेश मिटाया गया": "hi", "आपने यह संदेश मिटाया": "hi",
    "이 메시지는 삭제되었습니다": "ko", "삭제한 메시지입니다": "ko", "이 메시지를 삭제했습니다": "ko",
    "mesej ini telah dipadam": "ms", "anda telah memadamkan mesej ini": "ms",
    "det här meddelandet raderades": "sv", "detta meddelande raderades": "sv",
    "du har tagit bort meddelandet": "sv", "du raderade det här meddelandet": "sv",
    "du raderade detta meddelande": "sv",
    "denne besked er blevet slettet": "da", "denne besked blev slettet": "da",
    "du har slettet denne besked": "da", "du slettede denne besked": "da",
    "denne meldingen ble slettet": "nb", "du slettet denne meldingen": "nb",
    "tämä viesti poistettiin": "fi", "poistit tämän viestin": "fi",
    "tato zpráva byla smazána": "cs", "tato zpráva byla odstraněna": "cs",
    "tuto zprávu jste smazal/a": "cs", "tuto zprávu jste odstranil/a": "cs",
    "acest mesaj a fost șters": "ro", "ați șters acest mesaj": "ro",
    "ez az üzenet törlésre került": "hu", "ezt az üzenetet törölted": "hu",
    "törölted ezt az üzenetet": "hu",
    "αυτό το μήνυμα διαγράφηκε": "el", "διαγράψατε αυτό το μήνυμα": "el",
    "διαγράψατε το μήνυμα": "el",
}
# A group admin deleted the sender's message: the notice names the admin.
_ADMIN_DELETED_RE = re.compile(
    r"^(?:this message was deleted by admin (?P<en>[^\n]{1,120})|"
    r"un admin\.?, (?P<es>[^\n]{1,120}?), eliminó este mensaje)$", re.I)
# Arabic vowel marks and the tatweel are optional in writing: lookups ignore them.
_ARABIC_MARKS_RE = re.compile("[\u0640\u064b-\u0652]")


def _fold(text: str) -> str:
    """``text`` as a lookup key: lower case, without Arabic vowel marks."""
    return _ARABIC_MARKS_RE.sub("", text.lower())


_DELETED_KEYS = {_fold(k): v for k, v in _DELETED.items()}
_NOTICE_KEY_MAX = 80  # longer than any deletion or waiting notice
# One line that is a file name: what Android writes below "<Media omitted>" for a document.
_DOCUMENT_NAME_RE = re.compile(r"^[^\n/\\<>:]{1,200}\.[A-Za-z0-9]{1,8}$")
_WA_MEDIA_NAME = re.compile(r"^(?:IMG|VID|AUD|PTT|STK|DOC|PHOTO|VIDEO|AUDIO)-\d{8}-WA\d+",
                            re.I)
# The file name may itself hold parentheses ("Report (1).pdf"); the label is the last pair.
_ANDROID_ATTACHED_RE = re.compile(
    r"^(?P<name>[^\n]+?\.[A-Za-z0-9]{1,6})\s\((?P<label>[^()]{3,40})\)$")
_IOS_ATTACHED_RE = re.compile(r"^<(?P<label>[^<>:\n]{2,40}?)\s?:\s?(?P<name>[^<>\n]+\.\w{1,6})>")
_OMITTED_RE = re.compile(
    r"(?:^|\s)(?P<words>(?:[^\W\d_]+ ){0,2}[^\W\d_]+) "
    r"(?P<verb>" + "|".join(sorted(map(re.escape, _OMIT_VERBS), key=len, reverse=True))
    + r")\.?$", re.I)
# Searched at every position, so it starts at the "<" (a leading \s* would rescan a long
# run of spaces from each of its positions); the body is stripped of what is left before it.
_EDITED_RE = re.compile(
    rf"<[^<>\n]{{0,40}}(?:edited|bearbeitet|editó|editad[oa]|modifié|modificato|"
    rf"bewerkt|изменено|düzenlendi|diedit|נערכה|تعديل|zmieniona|edytowan)[^<>\n]{{0,12}}>"
    rf"[\s{BIDI_MARKS}]*$", re.I)
_ENCRYPTION_RE = re.compile(
    r"end-to-end encrypt|secured with end-to-end|ende-zu-ende-verschlüsselt|"
    r"cifrad[oa]s? de extremo a extremo|criptografia de ponta a ponta|chiffrés de bout en "
    r"bout|crittografia end-to-end|crittografati end-to-end|end-to-end versleuteld|"
    r"сквозным шифрованием|מקצה לקצה|uçtan uca şifrel|terenkripsi secara end-to-end|"
    r"encriptadas ponto a ponto|w pełni zaszyfrowane|مشفرة تمامًا بين الطرفين|"
    r"наскрізним шифруванням|mã hóa đầu cuối|เข้ารหัสจากต้นทางถึงปลายทาง|"
    r"エンドツーエンド暗号化|এন্ড-টু-এন্ড এনক্রিপ্টেড|端對端加密|端到端加密|"
    r"اینڈ ٹو اینڈ اینکرپشن|سرتاسر رمزگذاری|एंड-टू-एंड एन्क्रिप्टेड|종단간 암호화|"
    r"disulitkan hujung ke hujung|komplett krypterade|end-to-end-krypterede|"
    r"ende-til-ende-krypterte|salataan täysin|koncovým šifrováním|criptate integral|"
    r"végpontok közötti titkosítással|κρυπτογραφούνται πλήρως", re.I)
_GROUP_SYSTEM_RE = re.compile(
    r"created group|changed the subject|changed this group's|changed the group|group "
    r"description|joined using this group's invite link|\badded\b|\bremoved\b|\bleft$|"
    r"now an admin|hat die gruppe|creó el grupo|criou o grupo|a créé le groupe|"
    r"ha creato il gruppo|heeft groep|создал\(а\) группу", re.I)
_SYSTEM_NAME_HINTS = re.compile(
    r'["\u201c\u201d]| changed | added | removed | created group| joined using|'
    r" turned (?:on|off) | pinned a message| security code| is now an admin| changed to ")
_PHONE_RE = re.compile(r"^\+?[\d\s\-().\u00a0]{7,}$")
_NAME_SPACE_RE = re.compile(r"[\s\u00a0\u2007\u202f]+")
# Shared locations: "maps.google.com/?q=LAT,LON" (both platforms), also "maps?q=",
# "?query=" / "&ll=" forms and Apple Maps links. The domain and the parameters before the
# coordinates are bounded, so a long line repeating "maps.google.com" is not rescanned to
# its end from each repetition.
_MAPS_RE = re.compile(
    r"(?:maps\.google\.[a-z.]{1,12}/(?:maps)?\?(?:[^\s]{0,500}?&)?(?:q|ll|query)=|"
    r"google\.[a-z.]{1,12}/maps/(?:search/\?api=1&query=|place/[^\s/]*/?@|@)|"
    r"maps\.apple\.com/\?(?:[^\s]{0,500}?&)?(?:q|ll|sll)=)"
    r"(-?\d{1,2}(?:\.\d+)?)(?:,|%2C)\s?(-?\d{1,3}(?:\.\d+)?)", re.I)
# What iOS marks with a leading U+200E that is a person's message, not a notice: shared
# locations and polls (in the languages we know), which keep their sender.
_IOS_CONTENT_RE = re.compile(
    r"^(?:location|live location|standort|live-standort|ubicación|ubicacion|localização|"
    r"localizacao|position|posizione|locatie|местоположение|konum|lokasi|poll|umfrage|"
    r"encuesta|enquete|sondage|sondaggio|peiling|опрос|anket|localisation|розташування|"
    r"vị trí|ตำแหน่งที่ตั้ง|位置情報|położenie|lokalizacja|الموقع|מיקום|موقعیت|स्थान|위치|"
    r"位置|plats|placering|posisjon|sijainti|poloha|locație|helyzet|τοποθεσία|অবস্থান|"
    r"مقام)\b", re.I)
_FORWARDED_RE = re.compile(r"^\[Forwarded(?P<many> many times)?\] ")
_POLL_HEAD_RE = re.compile(r"^(?:poll|umfrage|encuesta|enquete|sondage|sondaggio|peiling|"
                           r"опрос|anket)\s?:\s*$", re.I)
_POLL_INLINE_RE = re.compile(r"^poll\s?:\s*(?P<question>\S.*)$", re.I)
_WEB_POLL_OPTION_RE = re.compile(r"^-\s+(?P<text>\S.*)$")
_POLL_OPTION_RE = re.compile(
    r"^(?:option|opción|opcion|opção|opcao|opzione|optie|вариант|seçenek)\s?:\s*(?P<text>.*?)"
    r"(?:\s*\((?P<votes>\d+)[^()\d]*\))?$", re.I)
# iOS logs calls into the chat under the caller's name ("Missed voice call", "Video call,
# 12 min"): a notice, but one that involves that person.
_CALL_RE = re.compile(r"^(?P<missed>missed\s)?(?:group\s)?(?P<media>voice|video)\scall\b"
                      r"(?P<rest>.*)$", re.I | re.S)
# The same notice in other locales, as (media, missed): the missed-call wordings of
# WhatsApp's string tables (iOS and Android spell some differently); answered calls only
# where exports show them. A notice's text starts with one, then ", "/". " and a detail.
_CALL_WORDS: dict[str, tuple[str, bool]] = {
    "verpasster sprachanruf": ("voice", True), "verpasster videoanruf": ("video", True),
    "sprachanruf": ("voice", False), "videoanruf": ("video", False),
    "llamada perdida": ("voice", True), "llamada de voz perdida": ("voice", True),
    "videollamada perdida": ("video", True),
    "appel vocal manqué": ("voice", True), "appel vidéo manqué": ("video", True),
    "chiamata vocale persa": ("voice", True), "videochiamata persa": ("video", True),
    "chamada de voz perdida": ("voice", True), "videochamada perdida": ("video", True),
    "chamada de vídeo perdida": ("video", True),
    "gemist spraakgesprek": ("voice", True), "gemiste spraakoproep": ("voice", True),
    "gemist videogesprek": ("video", True), "gemiste video-oproep": ("video", True),
    "пропущенный аудиозвонок": ("voice", True), "пропущенный видеозвонок": ("video", True),
    "аудиозвонок": ("voice", False), "видеозвонок": ("video", False),
    "cevapsız sesli arama": ("voice", True), "cevapsız görüntülü arama": ("video", True),
    "panggilan suara tak terjawab": ("voice", True),
    "panggilan video tak terjawab": ("video", True),
    "nieodebrane poł. głosowe": ("voice", True), "nieodebrane poł. wideo": ("video", True),
    "שיחה קולית שלא נענתה": ("voice", True), "שיחת וידאו שלא נענתה": ("video", True),
    "مكالمة صوتية فائتة": ("voice", True), "مكالمة فيديو فائتة": ("video", True),
    "nieodebrane połączenie": ("voice", True),
    "ভয়েস কল মিস করেছেন": ("voice", True), "ভিডিও কল মিস করেছেন": ("video", True),
    "মিসড ভয়েস কল": ("voice", True), "মিস করা ভিডিও কল": ("video", True),
    "未接語音通話": ("voice", True), "未接视频通话": ("video", True),
    "未接语音通话": ("voice", True), "未接視像通話": ("video", True),
    "مسڈ وائس کال": ("voice", True), "مسڈ ویڈیو کال": ("video", True),
    "چھوٹی ہوئی صوتی کال": ("voice", True), "چھوٹی ہوئی ویڈیو کال": ("video", True),
    "تماس صوتی پاسخ داده نشده": ("voice", True), "تماس تصویری پاسخ داده نشده": ("video", True),
    "मिस्ड वॉइस कॉल": ("voice", True), "मिस्ड वीडियो कॉल": ("video", True),
    "वॉइस कॉल मिस हुई": ("voice", True),
    "부재중 전화": ("voice", True), "부재중 영상통화": ("video", True),
    "panggilan suara terlepas": ("voice", True), "panggilan video terlepas": ("video", True),
    "missat röstsamtal": ("voice", True), "missat videosamtal": ("video", True),
    "ubesvaret taleopkald": ("voice", True), "ubesvaret videoopkald": ("video", True),
    "mistet opkald": ("voice", True),
    "tapt taleanrop": ("voice", True), "tapt videoanrop": ("video", True),
    "tapt videosamtale": ("video", True),
    "vastaamaton äänipuhelu": ("voice", True), "vastaamaton videopuhelu": ("video", True),
    "zmeškaný hovor": ("voice", True), "zmeškaný hlasový hovor": ("voice", True),
    "zmeškaný videohovor": ("video", True),
    "apel vocal ratat": ("voice", True), "apel vocal nepreluat": ("voice", True),
    "apel video ratat": ("video", True), "apel video nepreluat": ("video", True),
    "nem fogadott hanghívás": ("voice", True), "nem fogadott videohívás": ("video", True),
    "nem fogadott videóhívás": ("video", True),
    "αναπάντητη φωνητική κλήση": ("voice", True), "αναπάντητη βιντεοκλήση": ("video", True),
}
_CALL_WORDS_RE = re.compile(
    r"^(?P<words>" + "|".join(sorted(map(re.escape, _CALL_WORDS), key=len, reverse=True))
    + r")(?=$|[\s,.])(?P<rest>.*)$", re.I | re.S)
# Notices iOS writes under a name ("[date] Alice: \u200eAlice added Bob"). Copied through an
# editor or a forensic tool's text export the U+200E is gone, and only the wording tells
# them from a message. Each locale's sentences as WhatsApp's string tables word them
# (Android values-*/strings.xml group_* and identity_changed_name keys; the English iOS
# strings): "{a}" the person acting, "{o}" the person(s) acted on, "{x}" a group subject in
# quotes (any quote marks), "{t}" the rest of a sentence ("Tap to learn more."). Kinds
# after "!" are not group-only (they occur in one-to-one chats too).
_NOTICE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "created": ("{a} created group “{x}”", "{a} hat die Gruppe “{x}” erstellt",
                "{a} creó el grupo “{x}”", "{a} a créé le groupe “{x}”",
                "{a} criou o grupo “{x}”", "{a} heeft de groep “{x}” aangemaakt"),
    "added": ("{a} added {o}", "{a} added you", "{o} was added", "{a} hat {o} hinzugefügt",
              "{a} hat dich hinzugefügt", "{o} wurde hinzugefügt", "{a} añadió a {o}",
              "{a} te añadió", "Se añadió a {o}", "{a} a ajouté {o}", "{a} vous a ajouté",
              "{o} a été ajouté(e)", "{a} adicionou {o}", "{a} adicionou você",
              "{o} foi adicionado", "{a} ha aggiunto {o}", "{a} ti ha aggiunto",
              "{o} è stato aggiunto", "{a} heeft {o} toegevoegd", "{a} heeft u toegevoegd",
              "{o} is toegevoegd", "{a} добавил(-а) {o}", "{a} добавил(-а) вас",
              "{o} был(-а) добавлен(-а)"),
    "removed": ("{a} removed {o}", "{a} removed you", "{o} was removed",
                "{a} hat {o} entfernt", "{a} hat dich entfernt", "{o} wurde entfernt",
                "{a} eliminó a {o}", "{a} te eliminó", "Se eliminó a {o}",
                "{a} a retiré {o}", "{a} vous a retiré", "{o} a été retiré(e)",
                "{a} removeu {o}", "{a} removeu você", "{o} foi removido",
                "{a} ha rimosso {o}", "{a} ti ha rimosso", "{o} è stato rimosso",
                "{a} heeft {o} verwijderd", "{a} heeft u verwijderd", "{o} is verwijderd",
                "{a} удалил(-а) {o}", "{a} удалил(-а) вас", "{o} был(-а) удален(-а)"),
    "left": ("{a} left", "{a} hat die Gruppe verlassen", "{a} salió", "{a} est parti",
             "{a} est parti(e)", "{a} saiu", "{a} ha abbandonato",
             "{a} heeft de groep verlaten", "{a} покинул(-а) группу"),
    "joined": ("{a} joined using this group's invite link",
               "{a} ist dieser Gruppe mit dem Einladungslink beigetreten",
               "{a} se unió usando el enlace de invitación de este grupo",
               "{a} a intégré ce groupe grâce au lien d'invitation",
               "{a} entrou usando o link de convite deste grupo",
               "{a} è entrato usando il link d'invito al gruppo",
               "{a} is deelnemer geworden via de uitnodigingslink van deze groep",
               "{a} присоединился(-ась) к группе, используя приглашение"),
    "description": ("{a} changed the group description", "{a} hat die Gruppenbeschreibung "
                    "geändert", "{a} cambió la descripción del grupo",
                    "{a} a changé la description du groupe", "{a} alterou a descrição do "
                    "grupo", "{a} mudou a descrição do grupo",
                    "{a} heeft het groepsonderwerp gewijzigd"),
    "icon": ("{a} changed this group's icon", "{a} deleted this group's icon",
             "{a} mudou o ícone deste grupo"),
    "subject": ("{a} changed the subject to “{x}”", "{a} changed the subject from “{x}” to "
                "“{x}”", "{a} changed the group name to “{x}”", "{a} changed the group name "
                "from “{x}” to “{x}”", "{a} hat den Betreff zu “{x}” geändert",
                "{a} hat den Betreff von “{x}” zu “{x}” geändert",
                "{a} cambió el asunto a “{x}”", "{a} cambió el asunto de “{x}” a “{x}”",
                "{a} a modifié le sujet en “{x}”", "{a} a modifié le sujet “{x}” en “{x}”",
                "{a} alterou o nome do grupo para “{x}”", "{a} alterou o nome de “{x}” para "
                "“{x}”", "{a} mudou o nome de “{x}” para “{x}”",
                "{a} ha cambiato l'oggetto in “{x}”", "{a} ha cambiato l'oggetto da “{x}” a "
                "“{x}”", "{a} heeft het onderwerp gewijzigd naar “{x}”",
                "{a} heeft het onderwerp gewijzigd van “{x}” naar “{x}”",
                "{a} изменил(-а) тему на “{x}”", "{a} изменил(-а) тему с “{x}” на “{x}”"),
    "ended": ("{a} hat diese Gruppe aufgelöst", "{a} cerró este grupo", "{a} a fermé ce groupe",
              "{a} encerrou este grupo", "{a} heeft deze groep beëindigd"),
    "!pinned": ("{a} pinned a message",),
    "!disappearing_on": ("{a} turned on disappearing messages.{t}",),
    "!disappearing_off": ("{a} turned off disappearing messages.{t}",),
    "!security_code": ("Your security code with {o} changed.{t}",
                       "Die Sicherheitsnummer von {o} hat sich geändert.{t}",
                       "El código de seguridad de {o} cambió.{t}",
                       "Le code de sécurité de {o} a changé.{t}",
                       "O código de segurança de {o} mudou.{t}",
                       "Il codice sicurezza di {o} è cambiato.{t}",
                       "{o}'s beveiligingscode is gewijzigd.{t}",
                       "Код безопасности пользователя {o} изменился.{t}",
                       # iOS wordings (Localizable.strings) where they differ
                       "Deine Sicherheitsnummer für {o} hat sich geändert.{t}",
                       "Votre code de sécurité avec {o} a changé.{t}",
                       "O seu código de segurança partilhado com {o} mudou.{t}",
                       "Ваш код безопасности с контактом {o} изменился.{t}",
                       "Код безпеки з контактом {o} змінився.{t}",
                       "Mã bảo mật của bạn với {o} đã thay đổi.{t}",
                       "รหัสความปลอดภัยของคุณกับ {o} มีการเปลี่ยนแปลง{t}"),
    "!number_changed": ("{a} changed their phone number to a new number.{t}",
                        "{a} changed their phone number.{t}"),
}
_QUOTES = "\"'“”„‟«»‘’‚"
_NOTICE_SLOTS = {"{a}": r"(?P<a>[^\n]{1,100}?)", "{o}": r"(?P<o>[^\n]{1,300}?)",
                 "{x}": r"[^\n]{0,200}?", "{t}": r"(?:\s[^\n]{0,300})?"}
_NOTICE_SLOT_RE = re.compile(r"\{[aoxt]\}|[" + _QUOTES + "]")
_TOKEN_STRIP = ".,:;!?()" + _QUOTES


_EARLIER_MISSING_RE = re.compile(r"^some earlier messages may not be available\.?$", re.I)


def _is_preamble(line: str) -> bool:
    """Whether an undated line is one WhatsApp Web and Desktop write above the first
    message: the end-to-end encryption notice, or that earlier messages may be missing."""
    text = strip_marks(line)
    return len(text) < 400 and bool(_ENCRYPTION_RE.search(text)
                                    or _EARLIER_MISSING_RE.match(text))


def _notice_regex(template: str) -> re.Pattern[str]:
    parts = []
    pos = 0
    for m in _NOTICE_SLOT_RE.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        slot = m.group(0)
        parts.append(_NOTICE_SLOTS.get(slot, "[" + _QUOTES + "]"))
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(parts) + r"\.?$", re.I)


def _notice_index() -> dict[str, list[tuple[re.Pattern[str], str, bool]]]:
    """Templates by their longest fixed word, so a line's words find the few that may fit."""
    index: dict[str, list[tuple[re.Pattern[str], str, bool]]] = {}
    for kind, templates in _NOTICE_TEMPLATES.items():
        for template in templates:
            words = [w.strip(_TOKEN_STRIP).lower()
                     for w in _NOTICE_SLOT_RE.sub(" ", template).split()]
            key = max(words, key=len)
            index.setdefault(key, []).append(
                (_notice_regex(template), kind.lstrip("!"), not kind.startswith("!")))
    return index


_NOTICE_INDEX = _notice_index()
_NOTICE_MAX_CHARS = 600


@dataclass(frozen=True)
class _NoticeShape:
    """A text worded exactly like a notice: its kind, who acts ("{a}") and who is acted on
    ("{o}"), and whether only groups have it."""

    kind: str
    actor: str | None
    objects: str | None
    group_only: bool

    def names(self) -> set[str]:
        """The people the notice names ("A, B and C" read as three)."""
        out = {self.actor} if self.actor else set()
        if self.objects:
            out.update(n for n in _NAME_LIST_RE.split(self.objects) if n)
            out.add(self.objects)
        return out


_NAME_LIST_RE = re.compile(r",\s*|\s+(?:and|und|y|e|et|en|и)\s+")


def _notice_shape(text: str) -> _NoticeShape | None:
    """The notice a one-line text is worded as, else None (cheap for ordinary text)."""
    if len(text) > _NOTICE_MAX_CHARS or "\n" in text:
        return None
    clean = strip_marks(text).strip()
    for word in clean.lower().split():
        for rx, kind, group_only in _NOTICE_INDEX.get(word.strip(_TOKEN_STRIP), ()):
            m = rx.match(clean)
            if m:
                groups = m.groupdict()
                return _NoticeShape(kind, (groups.get("a") or "").strip() or None,
                                    (groups.get("o") or "").strip() or None, group_only)
    return None


# vCard lines we read from an exported contact card (folded lines are rare in these).
_VCARD_LINE_RE = re.compile(r"^(?P<key>FN|TEL|EMAIL)(?:;[^:\r\n]*)?:(?P<value>.+)$",
                            re.I | re.M)
_VCARD_MAX_BYTES = 256 * 1024
_CHAT_TITLE_RES = (
    re.compile(r"whatsapp[\s_-]*chat[\s_-]*(?:with|mit|con|com|avec|met|z|с|-)\s+(.+)", re.I),
    re.compile(r"(?:chat de|conversa do|discussion|chat)\s+whatsapp\s+(?:con|com|avec|met)\s+"
               r"(.+)", re.I),
)


@dataclass
class _Header:
    line_no: int
    d1: str
    d2: str
    d3: str
    sep: str
    hour: int
    minute: int
    second: int
    ampm: str | None
    junk: str | None
    time_text: str
    rest: str
    foreign_ampm: bool = False  # a 12-hour marker only non-English locales write
    calendar_hint: str | None = None  # "jalali"/"hijri" when digits or markers show one
    colon: bool = False  # the pre-2017 ": " ending instead of " - " or "]"

    @property
    def date_text(self) -> str:
        return f"{self.d1}{self.sep}{self.d2}{self.sep}{self.d3}"

    @property
    def date_key(self) -> tuple[str, bool]:
        """Dates of one shape (separator, year first) share one day/month decision."""
        return self.sep, len(self.d1) == 4


def _match_header(line: str, line_no: int, colon_ok: bool = True) -> _Header | None:
    """The header starting ``line``, or None; ``colon_ok`` False refuses the pre-2017
    "time: " ending (the file's first header decides, see ``_AMPM_AFTER``)."""
    m = _HEADER_RE.match(line) or _HEADER_TIME_FIRST_RE.match(line)
    if not m:
        return None
    g = m.groupdict()
    if g.get("colon") and not colon_ok:
        return None
    d3 = m["d3"]
    if g.get("jera"):
        if int(d3) < 1 or len(d3) > 2:
            return None
        d3 = str(_JAPANESE_ERAS[g["jera"]] + int(d3))
    elif g.get("be") and len(d3) <= 2:
        d3 = str(2500 + int(d3))  # "65 BE": Buddhist era 2565
    h, mi = int(m["h"]), int(m["mi"])
    s = int(m["s"]) if m["s"] else 0
    if h > 24 or mi > 59 or s > 59:
        return None
    ap = g.get("ap1") or m["ap2"]
    ampm = None
    foreign = False
    digits = set(m["d1"] + m["d2"] + d3)
    hints = {cal for cal, script in (("jalali", _PERSIAN_DIGITS), ("hijri", _ARABIC_DIGITS))
             if digits & script}
    if g.get("era"):
        hints.add("hijri")
    if ap:
        token = re.sub(rf"[.\s\u00a0\u202f]", "", ap).lower()
        ampm = "am" if token in _AM else "pm" if token in _PM else None
        if ampm is None or h > 12:
            return None
        foreign = token not in ("am", "pm") or bool(_SPANISH_AMPM_RE.match(ap))
        if token in _CALENDAR_OF_MARKER:
            hints.add(_CALENDAR_OF_MARKER[token])
    time_text = m.group(0)[: m.start("rest")].strip(" -:\u2013\u00a0\u202f" + BIDI_MARKS)
    return _Header(line_no, m["d1"], m["d2"], d3, m["sep"], h, mi, s, ampm, g.get("junk"),
                   time_text, m["rest"], foreign, hints.pop() if len(hints) == 1 else None,
                   bool(g.get("colon")))


@dataclass
class _Line:
    """A header's meaning: who said what, or a system line."""

    kind: str  # "message" or "system"
    name: str | None
    text: str  # raw text after "Name: " (marks kept: they tell system lines apart)


def _norm_name(raw: str) -> str:
    """A sender name as one spelling: the invisible marks around it (bidi marks, the
    Arabic letter mark) and the kind of space a phone number is written with vary with
    the exporting phone; the person doesn't."""
    return _NAME_SPACE_RE.sub(" ", strip_marks(raw.replace("\u061c", ""))).strip()


def _classify(rest: str) -> _Line:
    if rest.startswith("- "):
        # WhatsApp Web and Desktop: "[date] - notice" (a message is "[date] Name: text").
        return _Line("system", None, rest[2:])
    m = _NAME_RE.match(rest)
    if not m:
        return _Line("system", None, rest)
    name = _norm_name(m["name"])
    text = m["text"]
    if not name or _SYSTEM_NAME_HINTS.search(name):
        return _Line("system", None, rest)
    return _Line("message", name, text)


def _placeholder(text: str) -> dict[str, Any] | None:
    """What a WhatsApp-generated message text stands for (attachment, omitted media, deletion).

    Returns None for ordinary text. Keys: what ("attached", "omitted", "deleted"), name,
    media_kind, lang, caption.

    Older exports put the placeholder first and a caption after it; iOS since 2025 writes
    the caption first and the placeholder at the end of the last line ("caption
    \u200e<attached: 00000034-PHOTO-....jpg>", "caption \u200eimage omitted"). A trailing
    ``<label: file.ext>`` tag is read as such; a trailing typed placeholder only when the
    mark WhatsApp writes before it is there, since without it ordinary text can end with
    the same words.
    """
    info = _leading_placeholder(text)
    if info is not None:
        return info
    end = text.rstrip(_TRAILING_SPACE)
    if end.endswith(">"):
        cut = end.rfind("<")
        if cut > 0 and "\n" not in end[cut:]:
            m = _IOS_ATTACHED_RE.match(end[cut:])
            if m and m.end() == len(end) - cut:
                return _with_caption(_leading_placeholder(end[cut:]), end[:cut])
    # The mark is U+200E, or U+200F where the phone writes right to left.
    cut = max(end.rfind("\u200e", 1), end.rfind("\u200f", 1))
    if cut > 0 and "\n" not in end[cut:] and strip_marks(end[:cut]):
        info = _leading_placeholder(end[cut:])
        if info is not None and info["what"] in ("attached", "omitted"):
            return _with_caption(info, end[:cut])
    return None


_TRAILING_SPACE = " \t\u00a0\u202f" + BIDI_MARKS
_RUN_OF_SPACES_RE = re.compile(r"[ \u00a0]{2,}")
# An undecryptable message, as the export writes it (WhatsApp Web and Desktop, Android).
_WAITING: dict[str, str] = {
    "waiting for this message. this may take a while": "en",
    "waiting for this message": "en",
}


def _with_caption(info: dict[str, Any] | None, before: str) -> dict[str, Any] | None:
    """``info`` of a trailing placeholder, with the text written before it as caption."""
    if info is not None:
        info["caption"] = strip_marks(before)
    return info


def _described(desc: str, media_kind: str) -> bool:
    """Whether ``desc``, written before a typed placeholder, is what iOS puts there: the
    file's name and page count ("Report.pdf • 2 pages"), or a document's name alone
    ("Notes.txt document omitted")."""
    return "•" in desc or (media_kind == "document" and bool(_DOCUMENT_NAME_RE.match(desc)))


def _leading_placeholder(text: str) -> dict[str, Any] | None:
    """``_placeholder`` for a text that starts with the placeholder."""
    clean = strip_marks(text)
    first, _, caption = clean.partition("\n")
    first = strip_marks(first)
    if "  " in first:
        first = _RUN_OF_SPACES_RE.sub(" ", first)
    low = first.lower().rstrip(".。।۔")
    if len(low) <= _NOTICE_KEY_MAX:
        key = _fold(low)
        if key in _DELETED_KEYS:
            return {"what": "deleted", "lang": _DELETED_KEYS[key], "caption": caption}
        if key in _WAITING:
            return {"what": "waiting", "lang": _WAITING[key], "caption": caption}
    if "admin" in low:
        m = _ADMIN_DELETED_RE.match(first.rstrip("."))
        if m:
            return {"what": "deleted", "lang": "en" if m["en"] else "es", "caption": caption,
                    "deleted_by": (m["en"] or m["es"]).strip()}
    m = _IOS_ATTACHED_RE.match(first)
    if m:
        label = m["label"].strip().lower()
        after = strip_marks(first[m.end():])
        cap = "\n".join(x for x in (after, caption) if x)
        return {"what": "attached", "name": m["name"].strip(),
                "lang": _ATTACHED_LABELS.get(_fold(label)), "caption": cap}
    m = _ANDROID_ATTACHED_RE.match(first)
    if m:
        label = m["label"].strip().lower()
        name = strip_marks(m["name"])
        if label in _ATTACHED or _WA_MEDIA_NAME.match(m["name"]):
            # Android repeats a document's file name on the line below as its caption.
            return {"what": "attached", "name": name, "lang": _ATTACHED.get(label),
                    "caption": "" if strip_marks(caption) == name else caption}
    if first.startswith("<") and not first.endswith(">") and ">" in first:
        # WhatsApp Web and Desktop put a caption after the bracketed placeholder on the
        # same line: "<image omitted> the caption".
        cut = first.index(">") + 1
        info = _leading_placeholder(first[:cut])
        if info is not None and info["what"] == "omitted":
            info["caption"] = "\n".join(x for x in (first[cut:].strip(), caption) if x)
            return info
    bracketed = first.startswith("<") and first.endswith(">")
    if bracketed:
        label = first[1:-1].strip().lower()
        if label in _MEDIA_OMITTED or (len(label) < 50 and any(w in label for w in _MEDIA_WORDS)):
            info = {"what": "omitted", "name": first, "media_kind": "media",
                    "lang": _MEDIA_OMITTED.get(label), "caption": caption}
            doc = strip_marks(caption)
            if _DOCUMENT_NAME_RE.match(doc):
                # A document exported without media: Android writes its file name below.
                info.update(name=doc, media_kind="document", caption="")
            return info
        # Some exports wrap the typed placeholder too: "<image omitted>", "<GIF omitted>".
        first, low = first[1:-1].strip(), label.rstrip(".")
    last = low.rsplit(None, 1)[-1:]
    if last and last[0] in _OMITTED_PHRASE_ENDS:
        for phrase, (media_kind, lang) in _OMITTED_PHRASES.items():
            if low != phrase and not low.endswith(" " + phrase):
                continue
            desc = first.rstrip(".")[: len(low) - len(phrase)].strip()
            if desc and not _described(desc, media_kind):
                return None  # ordinary text that happens to end like a placeholder
            name = desc.split("•", 1)[0].strip() if desc else first
            if bracketed and not desc:
                name = f"<{first}>"
            return {"what": "omitted", "name": name or first, "media_kind": media_kind,
                    "lang": lang, "caption": caption}
    m = _OMITTED_RE.search(first) if low.rsplit(None, 1)[-1:] and \
        low.rsplit(None, 1)[-1] in _OMIT_VERBS else None
    if m:
        words = m["words"].split()
        for k in range(len(words)):  # the longest known media word(s) before the verb
            kind = " ".join(words[k:]).lower()
            if kind not in _KIND_WORDS:
                continue
            desc = (first[: m.start("words")] + " ".join(words[:k])).strip()
            if desc and not _described(desc, _KIND_WORDS[kind][0]):
                return None  # ordinary text that happens to end like a placeholder
            media_kind, lang = _KIND_WORDS[kind]
            verb_lang = _OMIT_VERBS.get(m["verb"].lower(), lang)
            name = desc.split("•", 1)[0].strip() if desc else first
            if bracketed and not desc:
                name = f"<{first}>"
            return {"what": "omitted", "name": name or first, "media_kind": media_kind,
                    "lang": verb_lang if verb_lang != "en" else lang, "caption": caption}
    return None


def _read_call(body: str) -> dict[str, Any] | None:
    """{"media", "missed"[, "duration_text"]} for a call notice's text, in any locale we
    know, else None. What follows the wording is kept as written: a duration ("12 min")
    as ``duration_text``, any other note ("Tap to call back", "No answer") as
    ``note_text``."""
    m = _CALL_RE.match(body)
    if m:
        call: dict[str, Any] = {"media": m["media"].lower(), "missed": bool(m["missed"])}
    else:
        m = _CALL_WORDS_RE.match(body)
        if not m:
            return None
        media, missed = _CALL_WORDS[m["words"].lower()]
        call = {"media": media, "missed": missed}
    detail = strip_marks(m["rest"]).lstrip(",. ").strip()
    if detail:
        call["duration_text" if any(c.isdigit() for c in detail) else "note_text"] = detail
    return call


def _read_poll(body: str) -> dict[str, Any] | None:
    """{"question", "answers": [{"text", "votes"}]} for a poll as WhatsApp writes it
    ("POLL:" / question / "OPTION: text (n votes)" lines), else None."""
    lines = [strip_marks(x) for x in body.split("\n")]
    if len(lines) < 2:
        return None
    web = _POLL_INLINE_RE.match(lines[0])
    options = [_WEB_POLL_OPTION_RE.match(x) for x in lines[1:]]
    if web:
        # WhatsApp Web and Desktop: "Poll: question", then one "    - option" a line.
        texts = [m["text"] for m in options if m is not None]
        if len(texts) == len(options):
            return {"question": web["question"],
                    "answers": [{"text": t, "votes": None} for t in texts]}
    if not _POLL_HEAD_RE.match(lines[0]):
        return None
    answers = []
    for line in lines[2:]:
        m = _POLL_OPTION_RE.match(line)
        if m:
            answers.append({"text": m["text"],
                            "votes": int(m["votes"]) if m["votes"] else None})
    return {"question": lines[1], "answers": answers}


@dataclass
class _Fit:
    """A file's distinct dates read in one calendar: the first that does not exist in it
    (line number, date as written, why), and the Gregorian span of those that do."""

    bad: tuple[int, str, str] | None = None
    first: date | None = None
    last: date | None = None

    def add(self, day: date) -> None:
        self.first = day if self.first is None else min(self.first, day)
        self.last = day if self.last is None else max(self.last, day)

    def merge(self, other: _Fit) -> None:
        if other.bad is not None and (self.bad is None or other.bad[0] < self.bad[0]):
            self.bad = other.bad
        for day in (other.first, other.last):
            if day is not None:
                self.add(day)

    def fits(self, latest: date) -> bool:
        """Every date exists and lies within WhatsApp's lifetime (2009 to ``latest``)."""
        return (self.bad is None and self.first is not None and self.last is not None
                and _WHATSAPP_FIRST_DAY <= self.first and self.last <= latest)

    def describe(self, latest: date) -> str:
        if self.bad is not None:
            return f"line {self.bad[0]}'s date {self.bad[1]} does not exist ({self.bad[2]})"
        assert self.first is not None and self.last is not None
        span = (self.first.isoformat() if self.first == self.last
                else f"{self.first.isoformat()} to {self.last.isoformat()}")
        if self.first < _WHATSAPP_FIRST_DAY:
            return f"the messages fall on {span}, before WhatsApp existed"
        if self.last > latest:
            return f"the messages fall on {span}, in the future"
        return f"the messages fall on {span}"


@dataclass
class _Scan:
    """What the first pass learns about the whole file."""

    headers: int = 0
    colon_style: bool | None = None  # whether the first header ends in ": " (pre-2017)
    # WhatsApp Web and Desktop exports: undated notices first, "[date] - notice" lines.
    # They write every date month first ("[3/4/25, 9:05:00 AM]") whatever the language.
    web_style: bool = False
    votes: dict[tuple[str, bool], Counter[str]] = field(default_factory=dict)
    ampm: Counter[bool] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    senders: dict[str, None] = field(default_factory=dict)  # ordered set
    system_names: Counter[str] = field(default_factory=Counter)
    group_signals: int = 0
    # Chronology: per date shape, the day gaps between consecutive distinct dates summed
    # under each reading (a step backwards costs a year). Messages are in time order, so
    # the right reading has the smaller sum.
    last_date: dict[tuple[str, bool], tuple[int, int, int]] = field(default_factory=dict)
    chrono: dict[tuple[str, bool], Counter[str]] = field(default_factory=dict)
    steps: Counter[tuple[str, bool]] = field(default_factory=Counter)
    # Years in _HIJRI_ERA_YEARS: the first header with one, the calendars the headers'
    # locale points to, and the distinct dates read per (date shape, order, calendar).
    era_line: int | None = None
    calendar_hints: Counter[str] = field(default_factory=Counter)
    fits: dict[tuple[tuple[str, bool], str, str], _Fit] = field(default_factory=dict)
    # Lines under a name worded exactly as a notice (line, name, shape), decided once the
    # whole file's senders are known; the header lines found to be notices.
    notice_candidates: list[tuple[int, str, _NoticeShape]] = field(default_factory=list)
    notice_lines: set[int] = field(default_factory=set)

    def decide_notices(self) -> None:
        """Which lines worded as notices are notices. One is when the person it names is
        the name it is written under ("Alice: Alice left", "Bob: Your security code with
        Bob changed."), or when that name is no person's: it writes no message and no
        notice names it (the group's own name). A person's message that only sounds like a notice ("Alice: Bob
        left") stays a message. Names of rejected lines become senders."""
        people = set(self.senders)
        for _line_no, _name, shape in self.notice_candidates:
            people.update(shape.names())
        for line_no, name, shape in self.notice_candidates:
            named = shape.names()
            own = _names_writer(name, named)
            if own or name not in people:
                self.notice_lines.add(line_no)
                if not own:
                    self.system_names[name] += 1
                if shape.group_only:
                    self.group_signals += 1
        for line_no, name, _shape in self.notice_candidates:
            if line_no not in self.notice_lines:
                self.senders.setdefault(name, None)

    def note_date(self, h: _Header) -> None:
        key = h.date_key
        cur = (int(h.d1), int(h.d2), int(h.d3))
        prev = self.last_date.get(key)
        self.last_date[key] = cur
        era = (cur[0] if key[1] else cur[2]) in _HIJRI_ERA_YEARS
        if era:
            self.era_line = self.era_line or h.line_no
            if h.calendar_hint:
                self.calendar_hints[h.calendar_hint] += 1
        if prev == cur:
            return
        if era:
            self._read_calendars(h)
        if key[1] or prev is None:
            return
        costs = self.chrono.setdefault(key, Counter())
        for order in ("dmy", "mdy"):
            before, after = _day_number(prev, order), _day_number(cur, order)
            if before is None or after is None:
                continue
            gap = after - before
            costs[order] += gap if gap >= 0 else 366 - gap
        self.steps[key] += 1

    def _read_calendars(self, h: _Header) -> None:
        """Read a new non-Gregorian date under each order and calendar it may be in."""
        for order in ("ymd",) if h.date_key[1] else ("dmy", "mdy"):
            year, month, day = _ymd(h, order)
            for calendar in _CALENDARS:
                fit = self.fits.setdefault((h.date_key, order, calendar), _Fit())
                try:
                    fit.add(_to_gregorian(year, month, day, calendar))
                except ValueError as exc:
                    fit.bad = fit.bad or (h.line_no, h.date_text, str(exc))


def _names_writer(name: str, named: set[str]) -> bool:
    """Whether a notice naming ``named`` is about ``name``, the name it is written under.
    iOS names the contact by the short name ("Your security code with Ana changed." under
    "Ana Lima"; "Lima Ana" where the family name comes first)."""
    return name in named or any(
        n and (name.startswith(n + " ") or name.endswith(" " + n)) for n in named)


def _day_number(parts: tuple[int, int, int], order: str) -> int | None:
    """Day ordinal of a (first, second, third) date number triple read as ``order``."""
    a, b, c = parts
    day, month = (a, b) if order == "dmy" else (b, a)
    try:
        return date(_full_year(c), month, day).toordinal()
    except (ValueError, OverflowError):
        return None


def _full_year(year: int) -> int:
    """Four-digit Gregorian year: two-digit years, and Thai phones' Buddhist-era years."""
    if year < 100:
        return year + (2000 if year < 70 else 1900)
    if year >= 2400:  # Buddhist era (Thailand) runs 543 years ahead
        return year - 543
    return year


# What a browser or a file manager adds to a name it already has: "… (2)", "… - Copy".
_COPY_SUFFIX_RE = re.compile(r"(?:\s*\(\d{1,3}\)|\s*-\s*(?:copy|kopie|copia|copie)(?:\s*\(\d{1,3}\))?)+$",
                             re.I)


def _chat_title_from_path(path: Path) -> str | None:
    for candidate in (path.stem, path.parent.name):
        for rx in _CHAT_TITLE_RES:
            m = rx.search(candidate)
            if m:
                # "WhatsApp Chat with Alice (2).txt", saved twice, is still Alice's chat.
                title = _COPY_SUFFIX_RE.sub("", strip_marks(m.group(1)))
                return title.strip(" _-") or None
    return None


def _decide_orders(scan: _Scan, forced: str | None) -> dict[tuple[str, bool], tuple[str, str]]:
    """(order, basis) per date shape."""
    out: dict[tuple[str, bool], tuple[str, str]] = {}
    non_english = any(lang != "en" for lang in scan.langs)
    mostly_ampm = scan.ampm[True] > scan.ampm[False]
    for key, votes in scan.votes.items():
        sep, year_first = key
        if year_first:
            out[key] = ("ymd", "format")
        elif forced in ("dmy", "mdy"):
            out[key] = (forced, "profile")
        elif votes["dmy"] and votes["mdy"]:
            out[key] = ("dmy" if votes["dmy"] >= votes["mdy"] else "mdy", "conflicting")
        elif votes["dmy"] or votes["mdy"]:
            out[key] = ("dmy" if votes["dmy"] else "mdy", "evidence")
        elif scan.web_style:
            out[key] = ("mdy", "format")
        elif scan.steps[key] and (costs := scan.chrono.get(key, Counter()))["dmy"] != \
                costs["mdy"] and len(costs) == 2:
            out[key] = ("dmy" if costs["dmy"] < costs["mdy"] else "mdy", "chronology")
        elif sep == ".":
            # Every locale writing dates with dots puts the day first (de, ru, fi, pl...).
            out[key] = ("dmy", "locale")
        elif non_english:
            out[key] = ("dmy", "locale")
        else:
            out[key] = ("mdy" if mostly_ampm else "dmy", "fallback")
    return out


def _decide_calendar(scan: _Scan, orders: dict[tuple[str, bool], tuple[str, str]],
                     profile: Mapping[str, Any], path: Path) -> tuple[str, str] | None:
    """(calendar, basis) of the file's years 1300-1599; None when it has none.

    The basis is "profile" (``profile["calendar"]``), "locale" (the headers' digits or
    12-hour markers point to one calendar only) or "dates" (the only calendar in which
    every date exists and falls within WhatsApp's lifetime, 2009 to a year from today).
    Raises ParseError, naming the line, for an unknown profile calendar or when no single
    calendar remains; the message says what each calendar makes of the dates.
    """
    choice = str(profile.get("calendar") or "").strip().lower()
    if choice and choice not in _CALENDAR_CHOICES:
        raise ParseError(f"unknown calendar {choice!r} in the import profile (known: "
                         f"{', '.join(_CALENDAR_CHOICES)})", file=path, field="calendar")
    if scan.era_line is None:
        return None
    if choice:
        return _CALENDAR_CHOICES[choice], "profile"
    if len(scan.calendar_hints) == 1:
        return next(iter(scan.calendar_hints)), "locale"
    fits = {calendar: _Fit() for calendar in _CALENDARS}
    for (key, order, calendar), fit in scan.fits.items():
        if orders[key][0] == order:
            fits[calendar].merge(fit)
    latest = date.today() + timedelta(days=366)  # a phone's clock may run somewhat ahead
    fitting = [calendar for calendar, fit in fits.items() if fit.fits(latest)]
    if len(fitting) == 1:
        return fitting[0], "dates"
    bad_lines = [fit.bad[0] for fit in fits.values() if fit.bad is not None]
    readings = "; ".join(f"as {_CALENDARS[calendar]}, {fit.describe(latest)}"
                         for calendar, fit in fits.items())
    raise ParseError(
        f"cannot tell the calendar of these dates: no single calendar fits them, and the "
        f"headers' digits and 12-hour markers do not point to one ({readings}). "
        f'Correct the dates, or choose the calendar in the import profile ("calendar": '
        f'"jalali" or "hijri")', file=path, field="date",
        ref=f"line {min(bad_lines) if len(bad_lines) == len(fits) else scan.era_line}")


def _ymd(h: _Header, order: str) -> tuple[int, int, int]:
    """(year, month, day) as written in a header read as ``order``."""
    a, b, c = int(h.d1), int(h.d2), int(h.d3)
    if order == "ymd":
        return a, b, c
    return (c, b, a) if order == "dmy" else (c, a, b)


def _to_gregorian(year: int, month: int, day: int, calendar: str) -> date:
    """The Gregorian day of a date written in ``calendar`` ("gregorian" also reads two-digit
    and Buddhist-era years). Raises ValueError for a date that does not exist in it."""
    if calendar == "jalali":
        return jdatetime.date(year, month, day).togregorian()
    if calendar == "hijri":
        try:
            return date(*Hijri(year, month, day).to_gregorian().datetuple())
        except OverflowError as exc:  # outside the Umm al-Qura tables (1343-1500 AH)
            raise ValueError(str(exc)) from None
    return date(_full_year(year), month, day)


def _make_datetime(h: _Header, order: str, calendar: str) -> datetime:
    """Raises ValueError for impossible dates."""
    year, month, day = _ymd(h, order)
    when = _to_gregorian(year, month, day, calendar)
    hour = h.hour
    if h.ampm == "am" and hour == 12:
        hour = 0
    elif h.ampm == "pm" and hour < 12:
        hour += 12
    if hour == 24:
        raise ValueError("hour 24")
    return datetime(when.year, when.month, when.day, hour, h.minute, h.second)


@dataclass(frozen=True)
class _Reading:
    """How the file's dates are read: (order, basis) per date shape, and (calendar, basis)
    of its years 1300-1599."""

    orders: dict[tuple[str, bool], tuple[str, str]]
    calendar: tuple[str, str] | None

    def calendar_of(self, year: int) -> tuple[str, str | None]:
        """(calendar, basis) of a year as written; the basis is None when the year's range
        alone tells (Gregorian, Thai Buddhist era)."""
        if self.calendar is not None and year in _HIJRI_ERA_YEARS:
            return self.calendar
        return ("buddhist" if year >= 2400 else "gregorian"), None


_CHAT_MEMBER_RE = re.compile(r"(?:^|/)(?:_chat|whatsapp[^/]*|[^/]*chat[^/]*)\.txt$", re.I)


def _pick_chat_member(names: list[str]) -> str | None:
    """The chat text inside an export zip: ``_chat.txt``, "WhatsApp Chat ....txt", or the
    only .txt."""
    txts = [n for n in names if n.lower().endswith(".txt")]
    for n in txts:
        if n.rsplit("/", 1)[-1] == "_chat.txt":
            return n
    named = [n for n in txts if _CHAT_MEMBER_RE.search(n)]
    if len(named) == 1:
        return named[0]
    return txts[0] if len(txts) == 1 else None


# Never follow a link at the last step, never block on a FIFO (checked as a regular file).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) | \
    getattr(os, "O_NONBLOCK", 0)


def _read_inside(folder: Path, name: str, limit: int) -> bytes | None:
    """The bytes of the regular file ``name`` (a bare file name) in ``folder`` when, with
    links resolved, it is still in that folder and is at most ``limit`` bytes; else None.
    Same rules as :class:`ExportFiles`: nothing outside the folder, no FIFO, is opened."""
    if not name or "\x00" in name or Path(name).name != name or "\\" in name:
        return None
    real_folder = os.path.realpath(folder)
    real = os.path.realpath(os.path.join(folder, name))
    if os.path.dirname(real) != real_folder:
        return None
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            return fh.read(limit + 1)[:limit]
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)


class _Source:
    """Where the chat text and its media live: a plain text file or an export zip.

    Media of a zip are its members; media of a plain text file are the files beside it,
    read through :class:`ExportFiles` (strictly inside that folder). Paths it refused are
    collected until :meth:`notices`.
    """

    def __init__(self, path: Path, options: ImportOptions) -> None:
        self.path = path
        self.encoding = options.encoding
        self.zip: SafeZip | None = None
        self.member: str | None = None
        self._by_base: dict[str, str] | None = None
        self.files: ExportFiles | None = None
        if not zipfile.is_zipfile(path):
            self.files = ExportFiles(path.parent)
        else:
            self.zip = SafeZip(path)
            self.member = _pick_chat_member(self.zip.names())
            if self.member is None:
                self.zip.close()
                raise ParseError("no WhatsApp chat text (_chat.txt) in this zip", file=path)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def lines(self) -> Iterator[tuple[int, str]]:
        """(1-based number, text without line end) for each line; errors as ParseError."""
        ref_file = f"{self.path}:{self.member}" if self.member else self.path
        if self.zip is not None and self.member is not None:
            encoding = self.encoding
            if encoding is None:
                with self.zip.open(self.member) as raw:
                    try:
                        encoding = detect_encoding(raw.read(SAMPLE_BYTES))
                    except ParseError as exc:
                        raise ParseError(exc.message, file=ref_file) from None
            fh: IO[str] = io.TextIOWrapper(self.zip.open(self.member), encoding=encoding,
                                           errors="strict")
        else:
            fh = open_text(self.path, encoding=self.encoding)
        n = 0
        try:
            with fh:
                for n, line in enumerate(fh, 1):  # noqa: B007 - n used after the loop
                    yield n, line.rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ParseError(f"undecodable bytes ({exc.reason}) with encoding {fh.encoding}",
                             file=ref_file, ref=f"line {n + 1}") from None

    def small_file(self, name: str, limit: int) -> bytes | None:
        """The bytes of an exported file when it exists and is at most ``limit`` bytes."""
        try:
            if self.zip is not None:
                member = self.media_member(name)
                if member is None or self.zip.infos[member].file_size > limit:
                    return None
                with self.zip.open(member) as fh:
                    return fh.read(limit + 1)[:limit]
            return _read_inside(self.path.parent, name, limit)
        except (OSError, ParseError, zipfile.BadZipFile, KeyError):
            pass
        return None

    def media_member(self, name: str) -> str | None:
        """The zip member holding an attached file (by path, else by base name)."""
        assert self.zip is not None
        if self._by_base is None:
            self._by_base = {}
            for member in self.zip.names():
                self._by_base.setdefault(member.rsplit("/", 1)[-1], member)
        return name if name in self.zip.infos else self._by_base.get(name)

    def media(self, name: str) -> FileHashes | None:
        """Size, SHA-256 and MD5 of an attached file exported with the chat, or None."""
        if self.files is not None:
            return self.files.hashes(name)
        try:
            member = self.media_member(name)
            if member is None:
                return None
            with self.zip.open(member) as fh:  # type: ignore[union-attr]
                return hash_stream(fh, md5=True)
        except (OSError, ParseError, zipfile.BadZipFile):
            return None

    def notices(self, ref: str) -> list[Notice]:
        """Notices for the attachment paths refused since the last call, naming ``ref``."""
        return self.files.notices(ref) if self.files is not None else []


class WhatsAppParser:
    """WhatsApp chat export (``_chat.txt`` / ``WhatsApp Chat with X.txt``), any locale.

    Yields one ParsedEvent per message (kind "message"; media placeholders become an
    Attachment, deleted messages have no body and ``properties["deleted"]``) or system line
    (kind "system"), with ``ref`` "line N" of the header line. A header whose date is
    impossible under the file's day/month order yields a RowError for that line. Raises
    ParseError for a binary or undecodable file, one with no WhatsApp header at all, or
    a zip that is unsafe or holds no chat text. Attachments exported with the chat carry
    their size, SHA-256 and MD5. Beside an unzipped text file only files inside its folder
    are read: a name that leads out (``..``, absolute, a symbolic link pointing out) is
    recorded by name and yields a Notice with the message's ref, and a FIFO is never
    opened.
    """

    name = "whatsapp_txt"
    label = "WhatsApp chat export (.txt or .zip)"

    def sniff(self, path: Path, head: bytes) -> float:
        if head.startswith(b"PK\x03\x04"):
            return self._sniff_zip(path)
        text = head_text(head)
        if not text:
            return 0.0
        lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
        if len(lines) > 1 and not text.endswith(("\n", "\r")):
            lines = lines[:-1]  # the head may cut the last line anywhere
        while len(lines) > 1 and _is_preamble(lines[0]):
            lines = lines[1:]  # WhatsApp Web and Desktop open with undated notices
        if not lines:
            return 0.0
        hits: list[_Header | None] = []
        colon_ok: bool | None = None  # set by the first header, as in a parse
        for i, ln in enumerate(lines):
            hit = _match_header(ln, i, colon_ok is not False)
            if hit is not None and colon_ok is None:
                colon_ok = hit.colon
            hits.append(hit)
        n = sum(1 for h in hits if h is not None)
        named = sum(1 for h in hits if h is not None and _classify(h.rest).kind == "message")
        if hits[0] is None or named == 0:
            return 0.3 if n >= 3 else 0.0
        if n >= 3 or n == len(lines):
            return 0.9
        return 0.6

    def _sniff_zip(self, path: Path) -> float:
        try:
            with zipfile.ZipFile(path) as zf:
                member = _pick_chat_member([n.replace("\\", "/") for n in zf.namelist()])
                if member is None:
                    return 0.0
                with zf.open(member) as fh:
                    head = fh.read(65536)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError):
            return 0.0
        return self.sniff(path, head) if not head.startswith(b"PK") else 0.0

    def parse(self, path: Path, options: ImportOptions) -> Iterator[Record]:
        path = Path(path)
        source = _Source(path, options)
        try:
            yield from self._parse(path, source, options)
        finally:
            source.close()

    def _parse(self, path: Path, source: _Source, options: ImportOptions) -> Iterator[Record]:
        scan = self._scan(path, source)
        profile = options.profile or {}
        forced = forced_date_order(options, path)
        orders = _decide_orders(scan, forced)
        reading = _Reading(orders, _decide_calendar(scan, orders, profile, path))
        title = _chat_title_from_path(path)
        is_group = len(scan.senders) > 2 or scan.group_signals > 0
        if not title and scan.system_names:
            # iOS writes system lines under the chat's name.
            title = scan.system_names.most_common(1)[0][0]
        members: list[Party] = []
        conv: Party | None = None
        if is_group:
            conv = group(title or path.name, title or path.name, PLATFORM)
        else:
            names = list(scan.senders)
            for extra in (title, options.owner):
                if len(names) < 2 and extra and extra not in names:
                    names.append(extra)
            members = [self._party(n, "participant") for n in names]
        base: dict[str, Any] = {"channel": PLATFORM}
        if title:
            base["conversation"] = title
        yield from self._emit(source, reading, base, members, conv, bool(scan.colon_style),
                              scan.notice_lines)

    # ------------------------------------------------------------------ passes

    def _scan(self, path: Path, source: _Source) -> _Scan:
        scan = _Scan()
        sample: list[str] = []
        sample_len = 0
        last_candidate: int | None = None  # the line just read if worded as a notice
        for n, line in source.lines():
            if sample_len < 4096:
                sample.append(line)
                sample_len += len(line) + 1
                if sample_len >= 4096 and looks_binary("\n".join(sample)):
                    raise ParseError("binary data, not a WhatsApp text export", file=path)
            h = _match_header(line, n, scan.colon_style is not False)
            if h is None:
                if scan.headers == 0 and _is_preamble(line):
                    scan.web_style = True
                if last_candidate is not None and line.strip(BIDI_MARKS + " \t"):
                    # A notice is one line: text going on below is a message.
                    _, name, _ = scan.notice_candidates.pop()
                    scan.senders.setdefault(name, None)
                    last_candidate = None
                continue
            if scan.colon_style is None:
                scan.colon_style = h.colon
            scan.headers += 1
            if h.rest.startswith("- ") and line.lstrip(BIDI_MARKS + " \t").startswith("["):
                scan.web_style = True
            votes = scan.votes.setdefault(h.date_key, Counter())
            if not h.date_key[1]:
                a, b = int(h.d1), int(h.d2)
                if a > 12 >= b:
                    votes["dmy"] += 1
                elif b > 12 >= a:
                    votes["mdy"] += 1
            scan.ampm[h.ampm is not None] += 1
            if h.foreign_ampm:
                scan.langs["ampm"] += 1
            scan.note_date(h)
            cl = _classify(h.rest)
            info = _placeholder(cl.text) if cl.kind == "message" else None
            system = self._is_system(cl, info)
            lang = info.get("lang") if info else None
            if lang:
                scan.langs[lang] += 1
            shape = None
            if not system and cl.name and info is None:
                shape = _notice_shape(cl.text)
            if system:
                if cl.name:
                    scan.system_names[cl.name] += 1
                if _GROUP_SYSTEM_RE.search(strip_marks(cl.text)):
                    scan.group_signals += 1
            elif shape is not None and cl.name:
                scan.notice_candidates.append((n, strip_marks(cl.name), shape))
            elif cl.name:
                scan.senders.setdefault(cl.name, None)
            last_candidate = n if shape is not None else None
        scan.decide_notices()
        if sample and sample_len < 4096 and looks_binary("\n".join(sample)):
            raise ParseError("binary data, not a WhatsApp text export", file=path)
        if scan.headers == 0:
            raise ParseError("no WhatsApp message header found (expected lines such as "
                             "'[8/15/23, 9:12:33 AM] Name: text' or "
                             "'15/08/2023, 09:12 - Name: text')", file=path)
        return scan

    @staticmethod
    def _is_system(cl: _Line, placeholder: dict[str, Any] | None) -> bool:
        """Whether a header line is a notice; ``placeholder`` is ``_placeholder(cl.text)``."""
        if cl.kind == "system":
            return True
        text = cl.text
        if placeholder is not None:
            return False
        stripped = text.lstrip(" \u00a0")
        if stripped[:1] in ("\u200e", "\u200f"):
            # iOS marks its own notices with a leading LRM, but also locations and polls.
            return not _IOS_CONTENT_RE.match(strip_marks(text))
        return len(text) < 400 and stripped.lower().startswith(
            ("messages", "your messages", "nachrichten", "los mensajes", "as mensagens",
             "les messages", "i messaggi", "berichten", "сообщения", "הודעות", "mesajlar",
             "pesan dan panggilan", "wiadomości i połączenia", "الرسائل",
             "повідомлення й дзвінки", "tin nhắn và cuộc gọi", "ข้อความและการโทร",
             "メッセージと通話", "মেসেজ এবং কল", "訊息和通話", "訊息已受", "消息和通话",
             "میسجز اور کالز", "پیامها و تماسها", "پیام‌ها و تماس‌ها", "मैसेजेस और कॉल्स",
             "메시지 및 전화", "mesej dan panggilan", "meddelanden och samtal",
             "beskeder og opkald", "meldinger og samtaler", "viestit ja puhelut",
             "zprávy a hovory", "mesajele și apelurile", "az üzenetek és hívások",
             "τα μηνύματα και οι κλήσεις")) and bool(
            _ENCRYPTION_RE.search(text))

    @staticmethod
    def _contact_card(name: str, source: _Source, props: dict[str, Any]) -> list[Party]:
        """Parties for a shared contact card: read from the exported .vcf when it is there,
        else the card's own name (WhatsApp names the file after the contact)."""
        raw = source.small_file(name, _VCARD_MAX_BYTES)
        contact: dict[str, Any] = {}
        if raw is not None:
            text = raw.decode("utf-8", errors="replace")
            for m in _VCARD_LINE_RE.finditer(text):
                key, value = m["key"].upper(), m["value"].strip()
                if key == "FN" and value and "name" not in contact:
                    contact["name"] = value
                elif key == "TEL" and value:
                    contact.setdefault("phones", []).append(value)
                elif key == "EMAIL" and value:
                    contact.setdefault("emails", []).append(value)
        if "name" not in contact:
            stem = re.sub(r"^\d{8}-", "", Path(name.replace("\\", "/")).stem).strip()
            if stem:
                contact["name"] = stem
        if not contact:
            return []
        props["contact"] = contact
        label = contact.get("name")
        return ([Party(kind="phone", value=v, role="mentioned", label=label)
                 for v in contact.get("phones", [])]
                + [Party(kind="email", value=v, role="mentioned", label=label)
                   for v in contact.get("emails", [])])

    @staticmethod
    def _clean_name(raw: str) -> tuple[str, str, dict[str, Any]]:
        """(value, label, facts) for a sender name as the export writes it.

        "~ Name" is a push name (chosen by the sender, not saved in the exporting phone's
        contacts). Within one export "~ Name" and "Name" are different people, so the
        value keeps the prefix; the label is the bare name.
        """
        name = _norm_name(raw)
        props: dict[str, Any] = {}
        label = name
        if name.startswith("~"):
            label = name[1:].strip(" \u00a0\u202f")
            name = f"~ {label}"
            props["push_name"] = True
        if _PHONE_RE.match(label):
            digits = re.sub(r"\D", "", label)
            props["phone"] = ("+" if label.startswith("+") else "") + digits
        return name, label, props

    def _party(self, raw: str, role: str) -> Party:
        value, label, props = self._clean_name(raw)
        return account(value, label, PLATFORM, role, props)

    def _emit(self, source: _Source, reading: _Reading, base: dict[str, Any],
              members: list[Party], conv: Party | None, colon_ok: bool,
              notice_lines: set[int]) -> Iterator[Record]:
        current: _Header | None = None
        extra: list[str] = []
        for n, line in source.lines():
            h = _match_header(line, n, colon_ok)
            if h is None:
                if current is not None:
                    extra.append(line)
                elif line.strip(BIDI_MARKS + " \t") and not _is_preamble(line):
                    yield RowError(ref=f"line {n}", field=None,
                                   message="text before the first WhatsApp message header")
                continue
            if current is not None:
                yield self._event(current, extra, reading, base, members, conv, source,
                                  notice_lines)
                yield from source.notices(f"line {current.line_no}")
            current, extra = h, []
        if current is not None:
            yield self._event(current, extra, reading, base, members, conv, source,
                              notice_lines)
            yield from source.notices(f"line {current.line_no}")

    def _event(self, h: _Header, extra: list[str], reading: _Reading, base: dict[str, Any],
               members: list[Party], conv: Party | None, source: _Source,
               notice_lines: set[int] | frozenset[int] = frozenset()) -> Record:
        ref = f"line {h.line_no}"
        order, basis = reading.orders[h.date_key]
        calendar, calendar_basis = reading.calendar_of(_ymd(h, order)[0])
        try:
            occurred = _make_datetime(h, order, calendar)
        except ValueError as exc:
            what = (f"{order} in the {_CALENDARS[calendar]} calendar (the order and calendar"
                    if calendar in _CALENDARS else f"{order} (the order")
            return RowError(ref=ref, field="date",
                            message=f"impossible date {h.time_text!r} when read as {what} "
                                    f"decided for this file): {exc}")
        props: dict[str, Any] = dict(base)
        props["date_order"] = order
        props["date_order_basis"] = basis
        if calendar != "gregorian" or calendar_basis:
            props["calendar"] = calendar  # converted to the Gregorian date
        if calendar_basis:
            props["calendar_basis"] = calendar_basis
        if h.junk:
            props["malformed_header"] = h.time_text
        cl = _classify(h.rest)
        text = "\n".join([cl.text, *extra]) if extra else cl.text
        edited = False
        forwarded = None
        if cl.kind == "message":
            m = _FORWARDED_RE.match(text)
            if m:
                # WhatsApp Web and Desktop tag forwarded messages in the text itself.
                forwarded, text = ("many_times" if m["many"] else "once"), text[m.end():]
        if (cl.kind == "message" and text.rstrip(_TRAILING_SPACE).endswith(">")
                and _EDITED_RE.search(text)):
            # Before the placeholder is read: an edited caption ends in the marker.
            text, edited = _EDITED_RE.sub("", text), True
        info = _placeholder(text) if cl.kind == "message" else None
        notice = (_notice_shape(text) if h.line_no in notice_lines and not extra
                  and info is None else None)
        if notice is not None:
            props["notice"] = notice.kind
        if notice is not None or self._is_system(cl, info):
            body = strip_marks(text if cl.kind == "message" else "\n".join([cl.text, *extra]))
            notice_parties: tuple[Party, ...] = ()
            call = _read_call(body) if cl.name else None
            if call is not None and cl.name:
                props["call"] = call
                notice_parties = (self._party(cl.name, "participant"),)
            elif cl.name:
                props["chat_label"] = cl.name
            return ParsedEvent(kind="system", occurred_at=occurred, ref=ref,
                               title=body.split("\n", 1)[0], body=body or None,
                               parties=notice_parties, properties=props)
        assert cl.name is not None
        sender = self._party(cl.name, "sender")
        parties = [sender]
        if conv is not None:
            parties.append(conv)
        else:
            parties.extend(recipients_for(sender.value, members))
        if edited:
            props["edited"] = True
        if forwarded:
            props["forwarded"] = forwarded
        body: str | None = strip_marks(text)
        attachments: list[Attachment] = []
        if info is not None:
            body = info.get("caption") or None
            if info["what"] == "waiting":
                props["undecrypted"] = True  # never decrypted on the exporting device
            elif info["what"] == "deleted":
                props["deleted"] = True
                if info.get("deleted_by"):
                    props["deleted_by_admin"] = info["deleted_by"]
            elif info["what"] == "attached":
                name = info["name"]
                got = source.media(name)
                mime = "text/vcard" if name.lower().endswith(".vcf") else guess_mime(name)
                attachments.append(Attachment(
                    name=name, mime=mime, size=got.size if got else None,
                    sha256=got.sha256 if got else None, md5=got.md5 if got else None,
                    path=safe_relpath(name)))
                if mime == "text/vcard":
                    parties.extend(self._contact_card(name, source, props))
            else:
                attachments.append(Attachment(name=info["name"]))
                props["media_omitted"] = True
                props["media_kind"] = info["media_kind"]
        if body:
            loc = _MAPS_RE.search(body)
            if loc:
                lat, lon = float(loc.group(1)), float(loc.group(2))
                if abs(lat) <= 90 and abs(lon) <= 180:
                    props["location"] = {"latitude": lat, "longitude": lon}
            poll = _read_poll(body)
            if poll:
                props["poll"] = poll
        return ParsedEvent(kind="message", occurred_at=occurred, ref=ref, body=body,
                           parties=tuple(parties), attachments=tuple(attachments),
                           properties=props)
