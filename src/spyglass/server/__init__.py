"""The team server: a REST API (FastAPI), the web app and an MCP endpoint over one data directory.

Every read path takes the caller's principals from their token or session and passes them into the index query
(tantivy clause, SQL predicate or faiss ID selector); nothing is filtered after the fact. See docs/server.md.
"""
