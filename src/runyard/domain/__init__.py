"""Entities, rules and limits, and the search grammar: pure Python, no I/O."""
