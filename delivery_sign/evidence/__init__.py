"""Evidence checks over plain data: handwriting strokes, photos and their hashes."""
