"""The run store: every sweep, sensitivity analysis, claim evaluation and simulation, with
its provenance, in an embedded DuckDB database (:mod:`detente.store.duckdb`)."""
