"""Use cases shared by the REST API and the realtime channel: each is one transaction plus
the media-backend and room-event side effects that follow it."""
