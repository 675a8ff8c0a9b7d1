"""Uncertainty: sampling parameter ranges, sweeps, global sensitivity and claims.

``sampling`` turns parameter ranges into sample points, ``analyses`` evaluates check, design
and simulate at one point, ``sweep`` runs many points through an executor into the run store,
``sensitivity`` computes Sobol indices and Morris screening, and ``claims`` parses and
evaluates statements in the claim language (docs/uncertainty.md).
"""
