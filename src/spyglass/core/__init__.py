"""Core types, configuration and errors shared by every layer. Imports nothing heavy."""
