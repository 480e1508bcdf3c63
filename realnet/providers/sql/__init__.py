"""SQL providers: one schema, one set of queries, one migration list per dialect."""
