"""Server-rendered pages: the offline API docs and the H5 clients (recipient, courier)."""
