"""Tests of the client plugin: URIs, the credential chain, the login store, and live sign-ins."""
