"""`python -m petrilab` — the same entry point as the `petrilab` command."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # first, for the frozen (PyInstaller) app
    from petrilab.cli import main

    raise SystemExit(main())
