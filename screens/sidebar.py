"""The step list on the left: every step's title and status, the current one marked.

One widget draws all rows (cheaper on the first paint than a widget per row). It holds
nothing but what the wizard screen sets (attributes down); a click on a row asks to go
there (message up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

from screens.messages import Navigate

SKIPPED_MARK = "\u2013"  # an en dash, as in the design
MARKS = {"done": "✓", "pending": "·", "failed": "✗", "skipped": SKIPPED_MARK, "current": "▶"}
STYLES = {"done": "green", "failed": "red", "skipped": "dim", "pending": ""}
CURRENT = Style(bold=True, reverse=True)
# The pages after the steps: shown so the user sees where the walk ends.
TAIL_PAGES = (("review", "Review"), ("apply", "Apply"), ("done", "Done"))
HEADING = "Steps"


@dataclass
class SidebarItem:
    """One row: a page, its title, its status and whether it is the current one."""

    page: str
    title_text: str
    clickable: bool = True
    status: str = "pending"
    current: bool = False

    @property
    def text(self) -> str:
        mark = MARKS["current"] if self.current else MARKS.get(self.status, " ")
        return f"{mark} {self.title_text}"


class Sidebar(Widget, can_focus=False):
    """Step titles with their status marks; Review, Apply and Done under them."""

    def __init__(self, steps: Iterable[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items = [SidebarItem(page, title) for page, title in steps]
        self._gap = len(self.items)  # the blank row before the tail pages
        # Apply and Done are reached through the review, never by a click.
        self.items += [SidebarItem(p, t, clickable=p == "review") for p, t in TAIL_PAGES]

    def item(self, page: str) -> SidebarItem:
        return next(i for i in self.items if i.page == page)

    def show(self, current: str | None, statuses: Mapping[str, str]) -> None:
        """Set every row's mark: ``statuses`` maps page -> status."""
        for item in self.items:
            item.status = statuses.get(item.page, "pending")
            item.current = item.page == current
        self.refresh()

    def _rows(self) -> list[SidebarItem | None]:
        """What each line shows: the heading and the gap are None."""
        return [None, *self.items[: self._gap], None, *self.items[self._gap :]]

    def render(self) -> Text:
        width = max(self.content_size.width, 1)
        out = Text(no_wrap=True, overflow="ellipsis")
        for n, item in enumerate(self._rows()):
            if n:
                out.append("\n")
            if item is None:
                out.append(HEADING if n == 0 else "", style="bold dim")
                continue
            line = item.text.ljust(width)
            style = STYLES.get(item.status, "")
            out.append(line, style=CURRENT if item.current else style)
        return out

    def on_click(self, event: events.Click) -> None:
        event.stop()
        rows = self._rows()
        if 0 <= event.y < len(rows):
            item = rows[event.y]
            if item is not None and item.clickable:
                self.post_message(Navigate(item.page))
