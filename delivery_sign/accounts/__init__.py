"""Tenants, org units, users, sessions, API keys and document types."""
