"""Validation: every check Twenty makes on write, run over whole columns before any call.

Imports: twenty, values, mapping.
"""
