"""Stores: the SQLite catalog (source of truth), the tantivy lexical index derived from it, the manifest."""
