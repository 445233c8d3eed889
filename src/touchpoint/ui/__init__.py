"""The desktop window (PySide6). It calls services through ui.backend only."""
