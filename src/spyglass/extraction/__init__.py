"""File → text. One module per format family; :mod:`spyglass.extraction.registry` maps names to extractors.

Extractors import their format library lazily so that importing this package stays cheap.
"""
