"""Identity and access: who a request acts for (authentication), what it may do (authorization),
the accounts, tokens, roles and grants behind both, and the audit log."""
