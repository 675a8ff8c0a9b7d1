"""Rendering results for people: terminal views now; figures and HTML pages later."""
