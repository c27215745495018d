"""Regression's panels: a histogram per target (Data page), predicted-vs-true and residual plots (Evaluate)."""
