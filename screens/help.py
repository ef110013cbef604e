"""The `?` / F1 help: the keys, and what the current page is about."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("ctrl+n", "next: check this step and continue (on the review: apply)"),
    ("enter", "in a field: the next field, on the last one Next; on a button: press it"),
    ("escape", "back to the previous step (closes a dialog)"),
    ("ctrl+s", "skip this step, with a reason (on the review: skip every step that blocks)"),
    ("ctrl+t", "run the live check of this step (review: plan again; Done: verify the site)"),
    ("ctrl+r", "show / hide the secret in the focused field"),
    ("ctrl+g", "generate a value for the focused field (secrets)"),
    ("ctrl+l", "Database step: load your Supabase projects to pick from (needs a token)"),
    ("ctrl+e", "the problems met in this run, each message in full"),
    ("f2", "the step list: up/down and enter open a step; digits 1-9, 0 jump to one"),
    ("tab / shift+tab", "next / previous field or button; the page (arrows scroll), the steps"),
    ("f1", "this help (? too, except in a text field, where ? is typed)"),
    ("ctrl+q", "quit: progress is saved and a summary stays in the terminal"),
)


class HelpModal(ModalScreen[None]):
    DEFAULT_CLASSES = "dialog-screen"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "close", "Close"),
    ]

    def __init__(self, page_title: str, page_help: str) -> None:
        super().__init__()
        self.page_title = page_title
        self.page_help = page_help

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        with Vertical(classes="dialog help-dialog"):
            yield Static("Help", classes="dialog-title")
            with VerticalScroll(classes="help-body"):
                yield Static(table)
                if self.page_help:
                    yield Static(Text(self.page_title, style="bold"), classes="help-page-title")
                    yield Static(self.page_help, markup=False)
                yield Static(
                    Text(
                        "Nothing is written until you confirm on the review page. Secrets are "
                        "masked everywhere; the mouse works too.",
                        style="dim",
                    ),
                    classes="help-footnote",
                )

    def action_close(self) -> None:
        self.dismiss(None)
