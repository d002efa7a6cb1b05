"""Unit tests: rules, parsers and stores in-process."""
