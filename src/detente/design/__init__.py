"""The schedule designer (MODEL.md section 4) and its brute-force oracle."""
