"""The sandbox's record engine: the store, its tables, writes, filters and value rules.

Part of the sandbox: imports nothing from the rest of ``twenty_migrate``.
"""
