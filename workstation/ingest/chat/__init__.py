"""Chat and mail importers: parsers only (the ingest pipeline writes what they yield).

Every parser follows :class:`workstation.ingest.records.Parser`: ``name``, ``label``,
``sniff(path, head) -> float`` and ``parse(path, options) -> Iterator[Record]``. Chat
messages become ``ParsedEvent(kind="message")`` and notices such as "X joined" become
``ParsedEvent(kind="system")``; senders and recipients are ``Party(kind="account")`` with
the platform set (``Party(kind="email")`` for mail; group conversations are
``Party(kind="group")`` recipients). ``properties["channel"]`` names the platform.
"""

from __future__ import annotations

from workstation.ingest.chat.discord import DiscordJsonParser
from workstation.ingest.chat.discord_package import DiscordPackageParser
from workstation.ingest.chat.irc import IrcLogParser
from workstation.ingest.chat.mail import EmlParser, MboxParser, MsgParser
from workstation.ingest.chat.messenger import MessengerHtmlParser, MessengerJsonParser
from workstation.ingest.chat.slack import SlackZipParser
from workstation.ingest.chat.sms import SmsBackupParser
from workstation.ingest.chat.telegram import TelegramHtmlParser, TelegramJsonParser
from workstation.ingest.chat.whatsapp import WhatsAppParser
from workstation.ingest.records import Parser

#: One instance of every chat/mail parser, in no particular order (sniff decides).
PARSERS: list[Parser] = [
    TelegramJsonParser(),
    TelegramHtmlParser(),
    WhatsAppParser(),
    DiscordJsonParser(),
    DiscordPackageParser(),
    MessengerJsonParser(),
    MessengerHtmlParser(),
    IrcLogParser(),
    SlackZipParser(),
    EmlParser(),
    MboxParser(),
    MsgParser(),
    SmsBackupParser(),
]

__all__ = [
    "PARSERS",
    "DiscordJsonParser",
    "DiscordPackageParser",
    "EmlParser",
    "IrcLogParser",
    "MboxParser",
    "MsgParser",
    "MessengerHtmlParser",
    "MessengerJsonParser",
    "SlackZipParser",
    "SmsBackupParser",
    "TelegramHtmlParser",
    "TelegramJsonParser",
    "WhatsAppParser",
]
