"""Loaded by the schemathesis run (``SCHEMATHESIS_HOOKS=schemathesis_hooks``): the ``q`` parameters, whose OpenAPI
format is ``spyglass-query``, are generated as free text in the query language instead of arbitrary strings."""

import schemathesis

from query_strategy import query_text

schemathesis.openapi.format("spyglass-query", query_text())
