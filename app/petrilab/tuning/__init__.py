"""`petrilab tune`: a budgeted search for better settings, every trial a normal run folder.

space.py     what may change (a small table of dimensions; add a row to search one more setting)
trial_run.py one trial: `petrilab train` in a child process, followed, pruned or stopped by STOP file
records.py   the validation value of a run, tuning.csv, tuning.json and best_settings.toml
steer.py     the diagnosis of a finished trial proposes the next one (its first advice, enqueued)
study.py     the loop: Optuna's ask/tell around our own trainer, within a wall-clock budget
"""
