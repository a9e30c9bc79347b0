"""Cross-cutting pieces: errors, auth, pagination, audit chain, logging, storage."""
