"""MCP server (Model Context Protocol) with ``search``, ``fetch_document`` and ``ask`` tools for AI assistants.

Over HTTP (mounted at ``/mcp`` by ``spyglass serve``) every call carries an API token and runs with that user's
principals. Over stdio (``spyglass mcp --as-user NAME``) the local operator names the user, as with the CLI's
``--as-user``; without it the tools see everything, as the CLI does.
"""

# no `from __future__ import annotations`: the MCP SDK reads the tools' annotations at run time
from collections.abc import Callable
from typing import Any

PrincipalsOf = Callable[[Any], "list[str] | None"]


def build_mcp(read: Callable[[], Any], principals_of: PrincipalsOf, instructions: str = "") -> Any:
    """``read()`` is a context manager giving a :class:`Spyglass`; ``principals_of(ctx)`` returns the caller's
    principals for an MCP request context (or raises PermissionError)."""
    try:
        from mcp.server.mcpserver import Context, MCPServer
    except ImportError as exc:  # pragma: no cover - the server extra installs it
        from spyglass.core.errors import MissingExtraError

        raise MissingExtraError("the MCP server", "server", "mcp") from exc

    server = MCPServer(
        name="spyglass",
        log_level="WARNING",
        instructions=instructions or (
            "Search the user's own files, mail and chat (Spyglass). Use `search` to find documents, then "
            "`fetch_document` to read one. Cite documents by their title and id."),
    )

    @server.tool(description="Search the user's files, mail and chat. Query syntax: words, \"phrases\", -excluded, "
                             "prefix*, type:pdf, in:folder, after:2024-01. Returns documents with a snippet and an id.")
    def search(query: str, limit: int = 10, mode: str = "", ctx: Context | None = None) -> dict[str, Any]:
        principals = principals_of(ctx)
        with read() as sg:
            res = sg.search(query, limit=max(1, min(int(limit), 50)), principals=principals, mode=mode or None)
        return {"total": res.total, "total_exact": res.total_exact, "mode": res.mode,
                "results": [{"id": h.id, "title": h.title, "path": h.path, "type": h.type,
                             "snippet": h.snippet, "page": h.page, "modified": h.modified} for h in res.hits]}

    @server.tool(description="Read a document found by `search`: its metadata and text passages.")
    def fetch_document(id: str, max_passages: int = 50, ctx: Context | None = None) -> dict[str, Any]:
        principals = principals_of(ctx)
        with read() as sg:
            d = sg.document(id, principals, max(1, min(int(max_passages), 500)))
        d.pop("file", None)
        return d

    @server.tool(description="Answer a question from the user's files. The answer cites passages as [n]; "
                             "`citations` lists them. Says so when the files do not hold the answer.")
    def ask(question: str, ctx: Context | None = None) -> dict[str, Any]:
        principals = principals_of(ctx)
        with read() as sg:
            a = sg.ask(question, principals=principals)
        return {k: a[k] for k in ("answer", "found", "citations", "dropped", "backend")}

    return server
