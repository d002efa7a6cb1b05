"""Tests that drive pages in headless Chromium (Playwright, Debian chromium)."""
