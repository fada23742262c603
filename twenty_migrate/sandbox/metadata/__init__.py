"""The sandbox's workspace metadata: objects, fields, relations, the standard objects.

Part of the sandbox: imports nothing from the rest of ``twenty_migrate``.
"""
