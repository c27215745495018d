"""One restrained look for the whole app: Fusion style, a light palette, a few named colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2f6f9f"  # steel blue: selection, primary buttons, bars
ACCENT_DARK = "#24577d"
TEXT = "#1f2933"
MUTED = "#5f6b7a"
BORDER = "#d5dae1"
PANEL = "#ffffff"
WINDOW = "#f4f6f8"
SIDEBAR = "#e9edf2"
LEVEL_COLOURS = {"info": "#2f6f9f", "warning": "#b7791f", "error": "#c53030", "ok": "#2f855a"}
SUBSET_COLOURS = {"train": "#2f6f9f", "validation": "#d69e2e", "test": "#6b7a8f"}

STYLE_SHEET = f"""
QMainWindow, QWidget#pageArea {{ background: {WINDOW}; }}
QWidget#sidebar {{ background: {SIDEBAR}; border-right: 1px solid {BORDER}; }}
QLabel#appName {{ font-size: 17px; font-weight: 600; color: {TEXT}; }}
QLabel#appTagline {{ color: {MUTED}; }}
QListWidget#stepList {{ background: transparent; border: none; outline: none; font-size: 13px; }}
QListWidget#stepList::item {{ padding: 7px 10px; border-radius: 5px; color: {TEXT}; margin: 1px 0; }}
QListWidget#stepList::item:disabled {{ color: #9aa5b1; }}
QListWidget#stepList::item:selected {{ background: {ACCENT}; color: white; }}
QListWidget#stepList::item:hover:!selected {{ background: #dde3ea; }}
QLabel#pageTitle {{ font-size: 20px; font-weight: 600; color: {TEXT}; }}
QLabel#pageSubtitle {{ color: {MUTED}; }}
QLabel#sectionTitle {{ font-size: 13px; font-weight: 600; color: {TEXT}; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#problem {{ color: {LEVEL_COLOURS['warning']}; }}
QFrame#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px; }}
QFrame#bottomBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; }}
QPushButton {{ padding: 5px 14px; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT_DARK}; border-radius: 4px;
                       padding: 6px 18px; font-weight: 600; }}
QPushButton#primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#primary:disabled {{ background: #aab6c3; border-color: #aab6c3; color: #eef1f4; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px; }}
QTableWidget {{ background: {PANEL}; gridline-color: #e6e9ee; border: 1px solid {BORDER}; }}
QHeaderView::section {{ background: #eef1f5; border: none; border-bottom: 1px solid {BORDER};
                        padding: 4px 6px; font-weight: 600; }}
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.Window, QColor(WINDOW))
    palette.setColor(QPalette.WindowText, QColor(TEXT))
    palette.setColor(QPalette.Base, QColor(PANEL))
    palette.setColor(QPalette.AlternateBase, QColor("#f7f9fb"))
    palette.setColor(QPalette.Text, QColor(TEXT))
    palette.setColor(QPalette.Button, QColor("#f9fafb"))
    palette.setColor(QPalette.ButtonText, QColor(TEXT))
    palette.setColor(QPalette.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.HighlightedText, QColor("white"))
    palette.setColor(QPalette.ToolTipBase, QColor(PANEL))
    palette.setColor(QPalette.ToolTipText, QColor(TEXT))
    palette.setColor(QPalette.PlaceholderText, QColor("#8a96a3"))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor("#9aa5b1"))
    app.setPalette(palette)
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
