"""After a run: reading records back, reconciling, exporting logs, rolling back.

Imports: twenty, values, plan, run.
"""
