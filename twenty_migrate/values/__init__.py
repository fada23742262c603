"""Twenty's values: parsing what people type (dates, phones, countries, composites), the
rules Twenty applies to one value, and the JSON records Twenty takes.

Imports: twenty.
"""
