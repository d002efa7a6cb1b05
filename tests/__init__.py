"""Runyard test suite: unit tests and integration tests against live servers."""
