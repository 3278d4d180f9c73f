"""Connectors: walk a source and yield what it holds, with metadata and access principals."""
