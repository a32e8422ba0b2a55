"""Who may call and what they see: tokens, request scope, signature diagnosis, console accounts, hub credentials."""
