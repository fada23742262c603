"""The import plan: objects in order, batches, the id each row lands on, time estimates.

Imports: twenty, values.
"""
