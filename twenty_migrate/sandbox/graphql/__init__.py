"""The sandbox's GraphQL front-ends: core ``/graphql`` and ``/metadata``.

Part of the sandbox: imports nothing from the rest of ``twenty_migrate``.
"""
