"""Reading a client's files (CSV, XLSX, XLS, JSON) into frames of text with stable ``_row`` ids.

Imports: twenty, values, clean.
"""
