"""Hosted video providers: what liveclass needs to speak each provider's own formats."""
