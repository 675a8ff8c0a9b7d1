"""Analyses over a scenario: self-enforcement (MODEL.md section 3), leverage, tipping points."""
