"""Files in and out: YAML with line-numbered errors, the case library, JSON Schema."""
