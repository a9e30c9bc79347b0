"""The dispatcher's and admin's web dashboard at /dashboard (server-rendered shell, static JS)."""
