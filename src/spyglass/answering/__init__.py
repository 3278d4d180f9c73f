"""Answers from the user's own files (RAG): retrieve, pack the best passages, write an answer that cites them, and
check every citation against the passages the asker may read. See docs/ask.md."""
