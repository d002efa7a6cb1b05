"""Use cases and rules: each public method is one transaction and checks what the caller may see."""
