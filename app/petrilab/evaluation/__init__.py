"""`petrilab evaluate` on a run folder (evaluate_run.py) and its checks for leaks (leaks.py); each task's metrics are
computed in its family's package (tasks/<family>/metrics.py)."""
