"""TensorFlow's start-up chatter, kept off the user's terminal.

Loading TensorFlow prints notes nobody using PetriLab can act on ("oneDNN
custom operations are on…", "Could not find cuda drivers…", "This
TensorFlow binary is optimized…", and absl's "All log messages before
absl::InitializeLog()…"). TF_CPP_MIN_LOG_LEVEL hides only some of them:
since TensorFlow 2.18 several are written through absl before its logging
is set up, which no environment variable reaches. So TensorFlow is imported
once, early, with the process's standard error captured at the descriptor
level; what it printed comes back afterwards, minus the lines known to be
chatter. Anything else (a real error, a warning about the installation)
still reaches the terminal, and a failed import shows everything.

Nothing here changes numerics: oneDNN stays as TensorFlow chose (setting
TF_ENABLE_ONEDNN_OPTS=0 would change results slightly, silently).
`petrilab --debug` shows the chatter.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# lines TensorFlow and its libraries print while loading, none of which asks anything of the user
CHATTER = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TF-TRT Warning: Could not find TensorRT"
    r"|cuInit: UNKNOWN ERROR|failed call to cuInit"
    r"|Attempting to register factory for plugin"
    r"|XLA service 0x[0-9a-f]+ initialized|StreamExecutor device \(\d+\)|Compiled cluster using XLA"
    r"|Created device /job:localhost"
)


def quiet_import_tensorflow() -> None:
    """Import TensorFlow now, with its start-up chatter filtered out of standard error."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # what TensorFlow's own logging lets us hide
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no standard error (a windowed app): nothing to keep clean
        import tensorflow  # noqa: F401

        return
    ok = False
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401

            ok = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            _replay(captured.read().decode("utf-8", "replace"), everything=not ok)
    _quiet_absl()


def _replay(text: str, everything: bool) -> None:
    kept = text.splitlines(keepends=True) if everything else [
        line for line in text.splitlines(keepends=True) if not CHATTER.search(line)]
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()


def _quiet_absl() -> None:
    """absl's Python logging (XLA and Keras notes such as 'Compiled the loaded model…'): errors only."""
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
