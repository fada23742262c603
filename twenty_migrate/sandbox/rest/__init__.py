"""The sandbox's REST front-end: ``/rest`` records and ``/rest/metadata``.

Part of the sandbox: imports nothing from the rest of ``twenty_migrate``.
"""
