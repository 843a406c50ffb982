"""Persistence: SQLAlchemy tables, the database handle and queries. Only this package imports SQLAlchemy."""
