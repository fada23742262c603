"""A whole migration: the one ``prepare`` (clean, map, relations, validate, keep valid,
plan), the migration spec file, preflight.

Imports: every stage below it.
"""
