"""Telling the platform what happened: signed webhooks delivered from the outbox."""
