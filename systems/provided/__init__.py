"""Provided trading rules and systems (paths mirror pysystemtrade's, so its configs resolve)."""
