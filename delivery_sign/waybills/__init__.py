"""Waybills as the shipper's system sees them: create, import, query, assign, cancel."""
