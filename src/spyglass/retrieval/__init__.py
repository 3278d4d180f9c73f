"""Query language, filters (including access control) and retrievers."""
