"""The confusion matrix as a coloured table: counts readable at a glance, colour = share of the true class."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

LOW = QColor("#ffffff")
HIGH = QColor("#2f6f9f")  # the app's accent blue
WRONG = QColor("#c0392b")  # off-diagonal cells drift towards red


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    t = max(0.0, min(1.0, t))
    return QColor(round(a.red() + (b.red() - a.red()) * t), round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


class ConfusionMatrixView(QTableWidget):
    """Rows are the true classes, columns the predicted classes; each cell shows the count and the row share."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCornerButtonEnabled(False)
        self.setToolTip("Rows: the true class. Columns: the class the model predicted.\n"
                        "The diagonal holds the correct answers; colour shows the share of each true class.")

    def set_matrix(self, classes: list[str], matrix: list[list[int]]) -> None:
        n = len(classes)
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(n)
        self.setHorizontalHeaderLabels([f"predicted\n{c}" for c in classes])
        self.setVerticalHeaderLabels([f"true  {c}" for c in classes])
        for i in range(n):
            row = matrix[i] if i < len(matrix) else []
            total = sum(row) or 1
            for j in range(n):
                count = int(row[j]) if j < len(row) else 0
                share = count / total
                item = QTableWidgetItem(f"{count}\n{share:.0%}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                colour = _blend(LOW, HIGH if i == j else WRONG, share if i == j else min(1.0, share * 1.5))
                item.setBackground(QBrush(colour))
                dark = colour.lightnessF() < 0.55
                item.setForeground(QBrush(QColor("#ffffff" if dark else "#1f2933")))
                font = item.font()
                font.setBold(i == j)
                font.setPointSizeF(font.pointSizeF() + 1)
                item.setFont(font)
                item.setToolTip(f"{count} image(s) of '{classes[i]}' predicted as '{classes[j]}' ({share:.0%} of '{classes[i]}')")
                self.setItem(i, j, item)
        # every row whole (two lines: count and share), up to six; more classes scroll inside the matrix
        font = self.font()
        font.setPointSizeF(font.pointSizeF() + 1)
        font.setBold(True)
        row = 2 * QFontMetrics(font).lineSpacing() + 10
        header = max(self.horizontalHeader().sizeHint().height(), 2 * self.fontMetrics().lineSpacing() + 10)
        self.setMinimumHeight(header + row * min(n, 6) + 2 * self.frameWidth() + 2)

    def cell_count(self, row: int, column: int) -> int:
        return int(self.item(row, column).text().split("\n")[0])
