"""Sharing a run from the window: "Open report", "Save as PDF…" and "Export for bioimage.io…".

The export runs `petrilab export` in a child process (the window never
imports TensorFlow); the dialog asks for what the package needs to be cited
and reused: name, description, authors, licence and a citation. The export and
the PDF are followed through their events (--events beside their log): the file
made, or why not, is read from there; the log's last lines only when the
command wrote no event (it could not start, or was killed).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QProcess, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMenu, QPlainTextEdit, QPushButton, QToolButton, QVBoxLayout, QWidget)

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.gui.context import engine_command
from petrilab.command_events import read_command
from petrilab.gui.process import events_beside, fresh_events, job_failure

LICENCES = ("CC-BY-4.0", "CC0-1.0", "MIT", "BSD-3-Clause", "Apache-2.0")
EXPORT_LOG = "export.log"
PDF_LOG = "report_pdf.log"


class ExportDialog(QDialog):
    """Asks for the package's description, then writes it with `petrilab export`."""

    exported = Signal(str)  # the package written

    def __init__(self, run_dir: str | Path, parent: QWidget | None = None, command: list[str] | None = None):
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.command = list(command) if command else engine_command()
        self.process: QProcess | None = None
        self.setWindowTitle("Export for bioimage.io")
        try:
            name = settings_io.load(self.run_dir / runs.SETTINGS).name
        except UserError:
            name = self.run_dir.name
        self.name = QLineEdit(name)
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What the model does, on which images (microscope, stain, size).")
        self.description.setFixedHeight(70)
        self.authors = QLineEdit()
        self.authors.setPlaceholderText("Names separated by commas")
        self.licence = QComboBox()
        self.licence.setEditable(True)
        self.licence.addItems(LICENCES)
        self.licence.setToolTip("The terms others may reuse the model under (an SPDX name). CC-BY-4.0: reuse with credit.")
        self.citation = QLineEdit()
        self.citation.setPlaceholderText("Your paper: Authors, title, year|DOI (optional)")
        self.output = QLineEdit(str(self.run_dir.parent / f"{self.run_dir.name}.bioimageio.zip"))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_output)
        where = QHBoxLayout()
        where.addWidget(self.output, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Authors", self.authors)
        form.addRow("Licence", self.licence)
        form.addRow("Citation", self.citation)
        form.addRow("Save as", where)
        self.status = QLabel("The package runs in deepImageJ (Fiji), ilastik and the other tools of the "
                             "BioImage Model Zoo.")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def _choose_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the package as", self.output.text(), "Zip (*.zip)")
        if path:
            self.output.setText(path)

    def arguments(self) -> list[str]:
        """The `petrilab export` arguments for what the dialog shows."""
        args = ["export", str(self.run_dir), "--format", "bioimageio", "-o", self.output.text().strip(),
                "--license", self.licence.currentText().strip() or LICENCES[0]]
        if self.name.text().strip():
            args += ["--name", self.name.text().strip()]
        if self.description.toPlainText().strip():
            args += ["--description", self.description.toPlainText().strip()]
        for author in self.authors.text().split(","):
            if author.strip():
                args += ["--author", author.strip()]
        if self.citation.text().strip():
            args += ["--cite", self.citation.text().strip()]
        return args

    def start(self) -> None:
        if not self.output.text().strip():
            self.status.setText("Choose where to save the package.")
            return
        self.export_button.setEnabled(False)
        self.status.setText("Exporting and checking the package… (a few seconds)")
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.setStandardOutputFile(str(self.run_dir / EXPORT_LOG))
        process.finished.connect(self._finished)
        self.process = process
        events = fresh_events(self.run_dir / EXPORT_LOG)
        process.start(self.command[0], self.command[1:] + self.arguments() + ["--events", str(events)])

    def _finished(self, exit_code: int, _status) -> None:
        self.export_button.setEnabled(True)
        events = events_beside(self.run_dir / EXPORT_LOG)
        done = read_command(events)
        if exit_code == 0 and done.status == "completed":
            package = str(done.finished.get("package") or self.output.text().strip())
            self.status.setText(f"Written: {package}")
            self.exported.emit(package)
            self.export_button.setText("Export again")
            return
        failure = job_failure(events, _read_log(self.run_dir / EXPORT_LOG))
        if failure:
            message, _file, fix = failure
            self.status.setText(message + (f"\nWhat to do: {fix}" if fix else ""))
        else:
            self.status.setText(f"The export failed; the details are in {self.run_dir / EXPORT_LOG}.")


class ShareButtons(QWidget):
    """'Open report', 'Save as PDF…' and 'Export for bioimage.io…' for the run a page shows."""

    pdf_saved = Signal(str)  # the PDF written
    pdf_failed = Signal(str)  # a plain message

    def __init__(self, parent: QWidget | None = None, command: list[str] | None = None):
        super().__init__(parent)
        self.run_dir: Path | None = None
        self.command = list(command) if command else engine_command()
        self.pdf_process: QProcess | None = None
        self.report_button = QToolButton()  # one click opens the report; its arrow offers the PDF
        self.report_button.setText("Open report")
        self.report_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.report_button.setMinimumHeight(QPushButton("x").sizeHint().height())  # as tall as its neighbours
        self.report_button.setToolTip("The run's report.html in your browser: settings, data, curves, verdict, "
                                      "test results and versions — for a lab notebook or a methods section.")
        self.report_button.clicked.connect(self.open_report)
        menu = QMenu(self.report_button)
        menu.addAction("Open in the browser", self.open_report)
        self.pdf_action = menu.addAction("Save as PDF…", lambda: self.save_pdf())
        self.pdf_action.setToolTip("The same report as a PDF file, to print or attach.")
        self.report_button.setMenu(menu)
        self.export_button = QPushButton("Export for bioimage.io…")
        self.export_button.setToolTip("A model package for deepImageJ (Fiji), ilastik and the BioImage Model Zoo.")
        self.export_button.clicked.connect(self.open_export)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.report_button)
        layout.addWidget(self.export_button)
        self.set_run(None)

    def set_run(self, run_dir: str | Path | None) -> None:
        self.run_dir = Path(run_dir) if run_dir else None
        self.report_button.setEnabled(bool(self.run_dir and (self.run_dir / runs.REPORT).exists()))
        self.pdf_action.setEnabled(self.report_button.isEnabled() and self.pdf_process is None)
        self.export_button.setEnabled(bool(self.run_dir and (self.run_dir / runs.BEST_MODEL).exists()))

    def report_url(self) -> QUrl:
        return QUrl.fromLocalFile(str(self.run_dir / runs.REPORT))

    def open_report(self) -> bool:
        if self.run_dir is None:
            return False
        return QDesktopServices.openUrl(self.report_url())

    def pdf_arguments(self, path: str) -> list[str]:
        """The `petrilab report` arguments that write the PDF to `path`."""
        return ["report", str(self.run_dir), "--pdf", "-o", path]

    def save_pdf(self, path: str | None = None) -> QProcess | None:
        """Ask where (unless `path` is given), then write the PDF with `petrilab report --pdf` in a child process."""
        if self.run_dir is None or self.pdf_process is not None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save the report as PDF",
                                                  str(self.run_dir.parent / f"{self.run_dir.name}-report.pdf"),
                                                  "PDF (*.pdf)")
        if not path:
            return None
        self.pdf_action.setEnabled(False)
        self.report_button.setText("Writing the PDF…")
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.setStandardOutputFile(str(self.run_dir / PDF_LOG))
        process.finished.connect(lambda code, _status: self._pdf_finished(code, path))
        self.pdf_process = process
        events = fresh_events(self.run_dir / PDF_LOG)
        process.start(self.command[0], self.command[1:] + self.pdf_arguments(path) + ["--events", str(events)])
        return process

    def _pdf_finished(self, exit_code: int, path: str) -> None:
        self.pdf_process = None
        self.report_button.setText("Open report")
        self.set_run(self.run_dir)
        events = events_beside(self.run_dir / PDF_LOG)
        done = read_command(events)
        if exit_code == 0 and done.status == "completed":
            path = str(done.finished.get("pdf") or path)
            self.pdf_action.setToolTip(f"Saved: {path}")
            self.report_button.setText("PDF saved ✓")
            # the timer dies with the button (a page closed meanwhile)
            QTimer.singleShot(4000, self.report_button, lambda: self.report_button.setText("Open report"))
            self.pdf_saved.emit(path)
            return
        failure = job_failure(events, _read_log(self.run_dir / PDF_LOG))
        message = (failure[0] + (f" What to do: {failure[2]}" if failure[2] else "")) if failure else \
            f"The PDF could not be written; the details are in {self.run_dir / PDF_LOG}."
        self.pdf_action.setToolTip(message)
        self.pdf_failed.emit(message)

    def open_export(self) -> ExportDialog | None:
        if self.run_dir is None:
            return None
        dialog = ExportDialog(self.run_dir, self)
        dialog.open()
        return dialog


def _read_log(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
