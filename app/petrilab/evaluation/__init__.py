"""Metrics per task, computed with numpy from true and predicted labels."""
