"""Relations: natural keys of related records turned into the ids Twenty links by.

Imports: twenty, values, clean, mapping, plan.
"""
