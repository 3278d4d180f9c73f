"""Chat exports: Discord (DiscordChatExporter JSON, one file per channel) and Mattermost (bulk export, JSON lines).
One document per channel-day, like Slack exports (the extraction is :mod:`spyglass.extraction.chat_exports`).

Principals: Mattermost exports list each user's channels: a channel-day is readable by the channel's members
(``mattermost:USERNAME`` and their ``email:``), a direct message by its members. A Discord export lists no members:
a channel-day is readable by the people who wrote in that channel (``discord:USER_ID``) — anyone else, only through
the source's owner and readers.
"""

from __future__ import annotations

from spyglass.sources.connector import Entry, Fetched
from spyglass.sources.exports.base import LocalExport


class DiscordConnector(LocalExport):
    kind = "discord"

    def wanted(self, rel: str, name: str) -> bool:
        return name.lower().endswith(".json")

    def describe(self, entry: Entry, path: str) -> Fetched:
        return Fetched(name=entry.name, type="chat-export", modified=entry.modified, uri=f"file://{path}",
                       extractor="spyglass.extraction.chat_exports:extract_discord")


class MattermostConnector(LocalExport):
    kind = "mattermost"

    def wanted(self, rel: str, name: str) -> bool:
        return name.lower().endswith((".jsonl", ".json"))

    def describe(self, entry: Entry, path: str) -> Fetched:
        return Fetched(name=entry.name, type="chat-export", modified=entry.modified, uri=f"file://{path}",
                       extractor="spyglass.extraction.chat_exports:extract_mattermost")
