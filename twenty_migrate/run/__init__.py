"""Running a plan: the importer, its journal, the outcomes of each row, progress, and
earlier runs of the same migration.

Imports: twenty, values, plan.
"""
