"""The access log keeps the path of each request, not its query string: ``/api/search?q=...`` holds what people search
for (names, words of private mail), which a log readable by operators must not collect. ``[server] log_queries =
true`` keeps query strings (e.g. to debug a client)."""

from __future__ import annotations

import logging


class StripQuery(logging.Filter):
    """Rewrites uvicorn's access record (client, method, path with query, http version, status) to the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install(log_queries: bool) -> None:
    log = logging.getLogger("uvicorn.access")
    for f in [f for f in log.filters if isinstance(f, StripQuery)]:
        log.removeFilter(f)
    if not log_queries:
        log.addFilter(StripQuery())
