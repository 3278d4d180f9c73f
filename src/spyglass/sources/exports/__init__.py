"""Readers of the exports people already have (Google Takeout, Maildir, Thunderbird, Notion, Confluence, Obsidian,
Discord, Mattermost, browser history and bookmarks), each a connector over a local folder or file.

Every name from inside an export is a name, never a path: files are found by walking the export's own folder, each
resolved path is verified to lie inside it (symbolic links included), and display names pass through ``safe_name``.
"""
