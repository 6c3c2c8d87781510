"""Editing panels shown as tabs in the main window's right-hand Edit dock.

To add a panel, subclass `EditPanel` (see base.py for the guide) and append its class to PANELS below,
one line per panel (tab order = list order).
"""

from .base import BrushEvent, EditorContext, EditPanel, WorkerJob

PANELS: list[type[EditPanel]] = []

# Registered panels (one line each):
from .select import SelectPanel; PANELS.append(SelectPanel)  # noqa: E402, E702
from .magnify import MagnifyPanel; PANELS.append(MagnifyPanel)  # noqa: E402, E702
from .deblur import DeblurPanel; PANELS.append(DeblurPanel)  # noqa: E402, E702

__all__ = ["PANELS", "BrushEvent", "EditorContext", "EditPanel", "WorkerJob"]
