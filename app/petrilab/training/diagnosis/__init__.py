"""Reading the training curves, as the workshop taught it.

From the loss history (one row per epoch) this package gives one of the six
verdicts the users learnt — good fit, overfitting, underfitting, not
finished, unrepresentative validation set, unrepresentative training set —
or "diverged" (the loss blew up or stopped being a number; read first, see
curve_cases.py), with the evidence behind it (epochs and values)
and advice that changes the settings in one click.

Pure numpy, no Keras: the trainer calls it after every epoch (live) and at
the end (final), `petrilab diagnose` calls it on a run folder or a Keras
CSVLogger file, and the GUI only shows the resulting dictionary.

How the curves are read
-----------------------
Loss values jump from epoch to epoch, so every rule looks at robust
summaries rather than single values:
- each curve is smoothed with a moving median (a single odd epoch is
  ignored, a real minimum is kept);
- "at the end" means the last third of the epochs; whether a curve is still
  falling there is how much lower that third lies than the third before,
  compared with how much the curve has fallen in total and with its level;
- noise is the epoch-to-epoch jitter (spread of second differences, which
  ignore a steady trend), relative to the curve's level;
- a change only counts when it is larger than the noise, and a curve can be
  "still falling", "stopped", or unsure when the noise hides which.
The rules are checked in a fixed priority order (see `PRIORITY`); the first
that holds is the verdict and the others that also hold go to `secondary`.
While training runs (final=False) the verdict shown is the one reached most
often over the last few epochs, so it does not flicker on a noisy curve.

The modules, one job each: thresholds.py (the fixed values), curves.py (curve
statistics), chance.py (a blind guess's loss), curve_cases.py and rules.py
(the rules that find a verdict), evidence.py (rules beyond the curves' shape),
verdict.py (choosing the verdict), wording.py (the summary and the numbers),
advice.py and advice_builders.py (the advice), results.py (what is given
back), words.py (numbers in words), run_files.py (diagnosing a run folder or
a CSV file).
"""

from petrilab.training.diagnosis.chance import chance_loss
from petrilab.training.diagnosis.results import Advice, Diagnosis
from petrilab.training.diagnosis.run_files import diagnose_file
from petrilab.training.diagnosis.thresholds import PRIORITY, TITLES, TOO_EARLY, VERDICTS
from petrilab.training.diagnosis.verdict import diagnose

__all__ = ["PRIORITY", "TITLES", "TOO_EARLY", "VERDICTS", "Advice", "Diagnosis", "chance_loss", "diagnose",
           "diagnose_file"]
