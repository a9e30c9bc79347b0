"""Server-rendered pages: the offline API docs now, the H5 clients later."""
