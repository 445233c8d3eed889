"""Rendering the managers' reports: HTML, Excel and PDF from the figures of
:mod:`touchpoint.services.reports`. Only ``pdf`` needs Qt; the services never
import this package."""
