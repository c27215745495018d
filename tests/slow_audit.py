"""Which tests are not marked slow but should be: PETRILAB_SLOW_AUDIT=FILE pytest -m "not slow" appends to FILE
the tests during which TensorFlow was first loaded, a Keras model was trained (fit) in the test process, or a
`petrilab` command or Python child process was started (conftest.py loads this only when the variable is set).
One process loads TensorFlow once: after a first finding, fix it and run again to see the next."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_found: list[str] = []
_popen_init = subprocess.Popen.__init__


def _watch_children(self, args, *rest, **kwargs):
    words = [str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)]
    if words and os.path.basename(words[0]).startswith("python"):
        _found.append("starts a Python child process: " + " ".join(words[1:4]))
    return _popen_init(self, args, *rest, **kwargs)


def _watch_fit():
    keras = sys.modules.get("keras")
    if keras is None or getattr(keras.Model.fit, "_audited", False):
        return
    fit = keras.Model.fit

    def audited(self, *args, **kwargs):
        _found.append("trains a Keras model (fit)")
        return fit(self, *args, **kwargs)
    audited._audited = True
    keras.Model.fit = audited


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    had_tensorflow = "tensorflow" in sys.modules
    _found.clear()
    _watch_fit()
    subprocess.Popen.__init__ = _watch_children
    try:
        yield
    finally:
        subprocess.Popen.__init__ = _popen_init
    if not had_tensorflow and "tensorflow" in sys.modules:
        _found.append("loads TensorFlow")
    if _found and item.get_closest_marker("slow") is None:
        with open(os.environ["PETRILAB_SLOW_AUDIT"], "a", encoding="utf-8") as out:
            out.write(f"{item.nodeid}\t{'; '.join(sorted(set(_found)))}\n")
