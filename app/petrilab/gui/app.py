"""Starting the window: the QApplication, the look, and the experiment it opens on."""

from __future__ import annotations

import sys
from pathlib import Path

from petrilab import settings as settings_io
from petrilab.errors import UserError

DEMO_NAME = "demo"


def prepare_demo(folder: str | Path) -> Path:
    """A demo experiment (settings.toml) in `folder`, pointing at the bundled demo images.

    An existing demo experiment is kept (the user may have changed it), unless
    its images have gone; then it is written again.
    """
    from petrilab.resources import demo_data

    folder = Path(folder)
    path = folder / "settings.toml"
    if path.is_file():
        try:
            existing = settings_io.load(path)
            if Path(existing.data.folder).is_dir():
                return path
        except UserError:
            pass  # a damaged demo file: write a good one
    from petrilab.data.check import check_dataset
    from petrilab.data.discovery import discover
    from petrilab.tasks import DEFAULT_TASK  # the demo opens on the task a new experiment starts with

    settings = settings_io.defaults_for(DEFAULT_TASK)
    settings.name = DEMO_NAME
    settings.data.folder = str(demo_data(DEFAULT_TASK))
    # the same defaults as `petrilab init` (early stopping decides how long, a range test the learning rate)
    # what `petrilab init` does: apply the check's safe proposals (image size, channels, ...)
    for key, value in check_dataset(discover(DEFAULT_TASK, settings.data.folder)).proposals.items():
        settings_io.apply_override(settings, key, value)
    settings_io.save(settings, path)
    return path


def create_application(argv: list[str] | None = None):
    """The one QApplication, with PetriLab's name and look."""
    from PySide6.QtWidgets import QApplication

    from petrilab.gui.widgets import theme

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("PetriLab")
    app.setOrganizationName("PetriLab")
    app.setApplicationDisplayName("PetriLab")
    _set_icon(app)
    theme.apply(app)
    return app


def _set_icon(app) -> None:
    from PySide6.QtGui import QIcon

    from petrilab.resources import resources_dir

    icon = resources_dir() / "icons" / "petrilab.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def open_window(settings_path: str | Path | None = None, demo: bool = False, warm_up: bool = True,
                reopen_last: bool = False):
    """Create the main window on an experiment (or the demo, the last one open when `reopen_last`, or a new
    one) and show it."""
    from petrilab.gui import session
    from petrilab.gui.main_window import MainWindow

    window = MainWindow(warm_up=warm_up)
    gone = None
    if reopen_last and settings_path is None and not demo:
        settings_path, gone = session.last_experiment()
    if demo and settings_path is None:
        try:
            from petrilab.resources import user_data_dir

            settings_path = prepare_demo(user_data_dir() / "demo")
        except (UserError, OSError) as exc:
            error = exc if isinstance(exc, UserError) else UserError(f"The demo could not be prepared ({exc}).")
            window.show_error("The demo data could not be opened", error)
    if settings_path is not None:
        window.load_experiment(settings_path)
    if gone is not None:  # quietly: a line in the status bar, gone when the message ends
        bar = window.statusBar()
        bar.messageChanged.connect(lambda text: bar.setVisible(bool(text)))
        bar.showMessage(session.gone_message(gone), 20_000)
    window.show()
    return window


def run_gui(settings_path=None, demo: bool = False) -> int:
    from petrilab.gui import welcome

    app = create_application()
    # the very first start opens on the demo data, with the short "start here" tour over it
    window = open_window(settings_path, demo=demo or welcome.opens_on_demo(settings_path), reopen_last=True)
    welcome.show_on_first_start(window)
    code = app.exec()
    window.shutdown()
    return code
