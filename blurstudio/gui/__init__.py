"""The desktop app (PySide6): windows, canvas, panels and workers. No numerical code here."""
