"""Persistence: tables, the database handle and queries. Only this package imports SQLAlchemy."""
