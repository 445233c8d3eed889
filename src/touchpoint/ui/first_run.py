"""A first start with no data: offer a demo database or an import."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from touchpoint.ui.backend import Backend

log = logging.getLogger(__name__)

DEMO_CUSTOMERS = 200


def demo_available() -> bool:
    return importlib.util.find_spec("touchpoint.services.demo") is not None


def offer_first_run(
    parent: QWidget,
    backend: Backend,
    *,
    open_import: Callable[[], None] | None,
    done: Callable[[], None],
) -> QMessageBox:
    """Ask (without blocking) whether to load demo data or import; ``done`` runs after a demo."""
    box = QMessageBox(parent)
    box.setWindowTitle("Welcome to Touchpoint")
    box.setIcon(QMessageBox.Icon.Information)
    box.setText("Your customer book is empty.")
    box.setInformativeText(
        "Try Touchpoint with a demo database of made-up customers, or import your "
        "customers from a CSV or vCard file. You can also start adding customers yourself."
    )
    demo = (
        box.addButton("Load &demo data", QMessageBox.ButtonRole.AcceptRole)
        if demo_available()
        else None
    )
    imp = (
        box.addButton("&Import customers…", QMessageBox.ButtonRole.ActionRole)
        if open_import is not None
        else None
    )
    box.addButton("Start &empty", QMessageBox.ButtonRole.RejectRole)
    box.setAccessibleName("First start")

    def chosen() -> None:
        clicked = box.clickedButton()
        if demo is not None and clicked is demo:
            load_demo(parent, backend, done)
        elif imp is not None and clicked is imp and open_import is not None:
            open_import()

    box.finished.connect(lambda _r: chosen())
    box.open()
    return box


def load_demo(parent: QWidget, backend: Backend, done: Callable[[], None]) -> None:
    from touchpoint.services import demo

    def make(ws, progress):  # type: ignore[no-untyped-def]
        return _generate(demo, ws, progress)

    backend.query(make).with_progress(
        "Making the demo database…", parent, cancellable=False
    ).success(lambda _v: done()).run()


def _generate(demo, ws, progress):  # type: ignore[no-untyped-def]
    import inspect

    params = inspect.signature(demo.generate_demo).parameters
    kwargs = {}
    if "customers" in params:
        kwargs["customers"] = DEMO_CUSTOMERS
    if "progress" in params:
        kwargs["progress"] = progress.report
    result = demo.generate_demo(ws, **kwargs)
    return getattr(result, "value", result)
