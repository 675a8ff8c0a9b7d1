"""The built-in case library: one YAML file per case, every number with its source."""
