"""Offline evaluation on public data through Spyglass's public API, with a registry of expected results."""
