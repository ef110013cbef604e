"""The step list on the left: every step's title and status, the current one marked.

One widget draws all rows (cheaper on the first paint than a widget per row). It holds
nothing but what the wizard screen sets (attributes down); a click on a row asks to go
there (message up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widget import Widget

from screens.messages import Navigate

SKIPPED_MARK = "\u2013"  # an en dash, as in the design
MARKS = {"done": "✓", "pending": "·", "failed": "✗", "skipped": SKIPPED_MARK, "current": "▶"}
STYLES = {"done": "green", "failed": "red", "skipped": "dim", "pending": ""}
CURRENT = Style(bold=True, reverse=True)
# The keyboard cursor while the list has the focus: readable without colour too.
CURSOR = Style(bold=True, underline=True)
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


class Sidebar(Widget, can_focus=True):
    """Step titles with their status marks; Review, Apply and Done under them.

    Focused (shift+tab from the first field, or f2), up/down move a cursor and Enter opens
    the step under it; a digit opens step 1-9 (0: the tenth).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("home", "move(-99)", "First", show=False),
        Binding("end", "move(99)", "Last", show=False),
        Binding("enter,space", "open", "Open step"),
        *(Binding(str(n % 10), f"jump({n})", f"Step {n}", show=False) for n in range(1, 11)),
    ]

    def __init__(self, steps: Iterable[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items = [SidebarItem(page, title) for page, title in steps]
        self._gap = len(self.items)  # the blank row before the tail pages
        # Apply and Done are reached through the review, never by a click.
        self.items += [SidebarItem(p, t, clickable=p == "review") for p, t in TAIL_PAGES]
        self.cursor = 0  # index into the clickable items

    def _clickable(self) -> list[SidebarItem]:
        return [i for i in self.items if i.clickable]

    def on_focus(self) -> None:
        # The cursor starts on the current page.
        pages = [i.page for i in self._clickable()]
        current = next((i.page for i in self.items if i.current), None)
        if current in pages:
            self.cursor = pages.index(current)
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, delta: int) -> None:
        self.cursor = max(0, min(len(self._clickable()) - 1, self.cursor + delta))
        self.refresh()

    def action_open(self) -> None:
        items = self._clickable()
        if 0 <= self.cursor < len(items):
            self.post_message(Navigate(items[self.cursor].page))

    def action_jump(self, number: int) -> None:
        steps = self.items[: self._gap]
        if 1 <= number <= len(steps):
            self.cursor = number - 1
            self.post_message(Navigate(steps[number - 1].page))

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
        clickable = self._clickable()
        cursor_item = clickable[self.cursor] if 0 <= self.cursor < len(clickable) else None
        for n, item in enumerate(self._rows()):
            if n:
                out.append("\n")
            if item is None:
                out.append(HEADING if n == 0 else "", style="bold dim")
                continue
            line = item.text.ljust(width)
            style = CURRENT if item.current else Style.parse(STYLES.get(item.status) or "none")
            if self.has_focus and item is cursor_item:
                style += CURSOR
            out.append(line, style=style)
        return out

    def on_click(self, event: events.Click) -> None:
        event.stop()
        rows = self._rows()
        if 0 <= event.y < len(rows):
            item = rows[event.y]
            if item is not None and item.clickable:
                self.post_message(Navigate(item.page))
