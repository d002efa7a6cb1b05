"""SQL for identity and access: principals, tokens, roles, grants, the audit log, and the
permission expression that filters lists."""
