"""Reports and exports: read-only views over waybills and receipts for dispatchers and BI."""
