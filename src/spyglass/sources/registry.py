"""The one place that maps a connector kind to its class. Add a kind here, in docs/sources.md, and a test in
tests/connectors/ against a real server or a real export sample."""

from __future__ import annotations

import importlib

from spyglass.core.errors import SpyglassError
from spyglass.sources.connector import Connector, SourceSpec

# kind -> ("module:Class", what LOCATION is, live: a server polled on a schedule)
KINDS: dict[str, tuple[str, str, bool]] = {
    "imap": ("spyglass.sources.imap:ImapConnector", "imap://HOST[:PORT] or imaps://HOST[:PORT]", True),
    "caldav": ("spyglass.sources.caldav:CalDavConnector", "http(s)://HOST/PATH/ (the account's collections)", True),
    "carddav": ("spyglass.sources.caldav:CalDavConnector", "http(s)://HOST/PATH/ (the account's collections)", True),
    "webdav": ("spyglass.sources.webdav:WebDavConnector", "http(s)://HOST/PATH/ (a folder)", True),
    "git": ("spyglass.sources.git:GitConnector", "a local repository path or git://HOST[:PORT]/REPO", True),
    "takeout": ("spyglass.sources.exports.takeout:TakeoutConnector", "a Google Takeout folder", False),
    "maildir": ("spyglass.sources.exports.maildir:MaildirConnector", "a Maildir folder (cur/ new/ tmp/)", False),
    "thunderbird": ("spyglass.sources.exports.thunderbird:ThunderbirdConnector", "a Thunderbird profile folder",
                    False),
    "notion": ("spyglass.sources.exports.pages:NotionConnector", "an unzipped Notion export (HTML or Markdown)",
               False),
    "confluence": ("spyglass.sources.exports.pages:ConfluenceConnector", "an unzipped Confluence space export",
                   False),
    "obsidian": ("spyglass.sources.exports.pages:ObsidianConnector", "an Obsidian vault folder", False),
    "discord": ("spyglass.sources.exports.chats:DiscordConnector", "a DiscordChatExporter JSON file or folder",
                False),
    "mattermost": ("spyglass.sources.exports.chats:MattermostConnector", "a Mattermost bulk export (.jsonl)", False),
    "firefox": ("spyglass.sources.exports.browser:FirefoxConnector", "a Firefox profile folder or places.sqlite",
                False),
    "chromium": ("spyglass.sources.exports.browser:ChromiumConnector",
                 "a Chromium/Chrome profile folder or its History file", False),
}


def is_connector_kind(kind: str) -> bool:
    return kind in KINDS


def is_live(kind: str) -> bool:
    return KINDS.get(kind, ("", "", False))[2]


def open_connector(spec: SourceSpec) -> Connector:
    if spec.kind not in KINDS:
        raise SpyglassError(f"unknown source kind {spec.kind!r}: use one of {', '.join(sorted(KINDS))}")
    module, cls = KINDS[spec.kind][0].split(":")
    return getattr(importlib.import_module(module), cls)(spec)
