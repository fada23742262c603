"""Talking to Twenty: the client, its transport and rate limit, settings, errors, what
the client learns of its server, the workspace schema, and the reads that verify a run.

Imports no other stage.
"""
