"""Alembic environments for the two stores, and a small runner used by ``portal db``."""
