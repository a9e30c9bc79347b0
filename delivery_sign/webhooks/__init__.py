"""Webhooks: signed event deliveries to the tenant's business systems (SPEC §4)."""
