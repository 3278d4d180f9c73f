"""Thin, lazy adapters for model runtimes. Nothing here loads a model at import time."""
