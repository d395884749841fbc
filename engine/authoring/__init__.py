"""Authoring helpers: commands that write or tidy workbooks for the people who edit them."""

from engine.authoring.format import FormatResult, format_workbook

__all__ = ["FormatResult", "format_workbook"]
