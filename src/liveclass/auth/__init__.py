"""Tokens: the platform's JWTs (who is calling) and the tokens liveclass issues."""
