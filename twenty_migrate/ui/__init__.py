"""What a person uses: the command line, the demo, the notebook widgets' parts, the report.

Imports: every stage.
"""
