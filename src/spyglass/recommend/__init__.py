"""Recommendation: what a user is likely to open next, and files related to a file.

One model per module, each with ``fit`` on interaction data and ``score`` for (user, candidate items); the app blends
them over the activity log, and ``spyglass eval recs`` measures them on public implicit-feedback data.
"""
