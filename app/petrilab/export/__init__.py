"""Sharing a run: the HTML report (bioimage.io export comes later)."""
