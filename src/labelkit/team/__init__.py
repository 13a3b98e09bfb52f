"""Working as a team: accounts and access links (accounts), who labels what (assignment)."""
