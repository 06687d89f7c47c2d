"""The cells of a dashboard table row. Built in Python: a dashboard row has many cells, and a template
loop per cell made the page several times slower to render."""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join

register = template.Library()

CELL_CLASS = {False: "utrecht-table__cell", True: "utrecht-table__cell utrecht-table__cell--numeric"}


@register.filter
def table_cells(record) -> str:
    return format_html_join("", '<td class="{}">{}</td>', ((CELL_CLASS[cell.numeric], cell.text) for cell in record))
