"""The HTTP API: one router per resource, pydantic schemas, problem details."""
