"""Ticks that read without colour: Textual draws a checkbox's state as a coloured "X",
the same character ticked or not (invisible with NO_COLOR or on a poor palette). Here a
ticked box shows ✓ and an empty one a blank."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets._toggle_button import ToggleButton

TICK = "✓"


class MarkedCheckbox(Checkbox):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = TICK if self.value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = TICK if self.value else " "
        super().watch_value()


class MarkedSelectionList(SelectionList[Any]):
    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        _, scroll_y = self.scroll_offset
        try:
            selection = self.get_option_at_index(scroll_y + y)
        except Exception:  # past the last option: nothing to mark
            return strip
        if len(segments) < 2 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip
        mark = TICK if selection.value in self._selected else " "
        segments[1] = Segment(mark, segments[1].style, segments[1].control)
        return Strip(segments, strip.cell_length)
