"""Organization: duplicates, topics, tags and folder suggestions, turned into reviewable plans with an undo journal.

Modules here compute suggestions from catalog readers and vectors; nothing here touches a user's file except
:mod:`spyglass.organize.apply`, which carries out a plan the user reviewed and journals every step.
"""
