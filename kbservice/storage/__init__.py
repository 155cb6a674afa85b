"""Database plumbing: engine, tables, migrations, per-thread readers, change signals, LRU."""
