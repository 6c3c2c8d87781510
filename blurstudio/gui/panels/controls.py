"""Controls built from the edits' settings classes (blurstudio.edit.settings), so that a panel's
sliders and lists accept exactly what the command line does: the range, the choices and the default
are the field's."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSlider

from blurstudio.edit.settings import setting


class SettingSlider(QSlider):
    """A horizontal slider over one numeric setting: `steps` slider units per 1.0 or, for a setting
    marked `log`, `steps` units from its low to its high end on a ratio scale. `reverse`: the right
    end is the low value (a "range" slider: more to the right selects more)."""

    def __init__(self, settings_class: type, name: str, steps: int, reverse: bool = False) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        f = setting(settings_class, name)
        self.low, self.high = f.metadata["range"]
        self.log, self.steps, self.reverse = f.metadata["log"], steps, reverse
        if self.log:
            self.setRange(0, steps)
        else:
            self.setRange(round(self.low * steps), round(self.high * steps))
        self.default = f.default
        self.set_setting(f.default)

    def reset(self) -> None:
        """Back to the setting's default."""
        self.set_setting(self.default)

    def setting(self) -> float:
        """The setting's value at the slider's position."""
        t = self.value()
        if self.log:
            value = self.low * (self.high / self.low) ** (t / self.steps)
        else:
            value = t / self.steps
            value = self.low + self.high - value if self.reverse else value
        return min(max(value, self.low), self.high)  # the ends exactly, whatever the rounding

    def set_setting(self, value: float) -> None:
        """Move the slider to (the position nearest) `value`."""
        if self.log:
            self.setValue(round(self.steps * math.log(value / self.low) / math.log(self.high / self.low)))
        else:
            self.setValue(round((self.low + self.high - value if self.reverse else value) * self.steps))


class SettingChoice(QComboBox):
    """A list of a setting's choices (item data: the value; text: `labels[value]`), at its default."""

    def __init__(self, settings_class: type, name: str, labels: dict[str, str]) -> None:
        super().__init__()
        f = setting(settings_class, name)
        self.default = f.default
        for value in f.metadata["choices"]:
            self.addItem(labels[value], value)
        self.reset()

    def reset(self) -> None:
        """Back to the setting's default."""
        self.setCurrentIndex(self.findData(self.default))


def choice_box(settings_class: type, name: str, labels: dict[str, str]) -> SettingChoice:
    """A list of a setting's choices at its default (see SettingChoice)."""
    return SettingChoice(settings_class, name, labels)
