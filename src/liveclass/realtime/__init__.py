"""The classroom's realtime channel: WebSocket endpoint, rooms, and the bus that fans out."""
