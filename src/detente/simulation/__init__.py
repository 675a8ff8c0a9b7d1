"""Monte Carlo simulation of strategies under imperfect verification, and classic repeated games."""
