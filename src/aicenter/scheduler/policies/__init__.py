"""Built-in policies; each module states its objective and rules."""
