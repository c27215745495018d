"""Training on a SLURM cluster: `petrilab submit` writes a job script and hands it to sbatch.

sweep.py expands `--sweep key=v1,v2` into one settings per combination, script.py writes the
readable sbatch script, slurm.py talks to SLURM (sbatch, squeue) and submit.py ties them together:
every run folder is created with its own settings.toml before anything is submitted. Engine-side:
nothing here imports Qt or Keras.
"""
