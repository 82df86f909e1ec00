"""The data contract: one Parquet manifest per dataset directory, one row per sample.

schema.py defines it and holds the only functions that read or write a manifest; names.py holds the names a
caller needs without pandas or pyarrow (params validation, a cached stage re-run).
"""
