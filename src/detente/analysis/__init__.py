"""Analyses over a scenario: self-enforcement (docs/model.md §3), leverage, tipping points."""
