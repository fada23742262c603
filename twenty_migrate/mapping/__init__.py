"""Field maps: source columns to Twenty field paths, suggested from headers and values.

Imports: twenty, values, clean.
"""
