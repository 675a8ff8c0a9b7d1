"""The pure core: the scenario model, expressions, errors. Imports no engine."""
