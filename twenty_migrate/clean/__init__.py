"""Cleaning a frame before mapping it: pure ``df -> df`` helpers, their log, duplicates.

Imports: twenty, values.
"""
