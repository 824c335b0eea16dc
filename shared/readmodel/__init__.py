"""The read models: their updates (pure), writer and readers, and the database's collections."""
