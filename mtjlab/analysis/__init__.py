"""Computation on results, with no backend: network training, mapping statistics and fits."""
