"""Small dialogs: resume, skip with a reason, a failed live check, confirm.

Each returns its answer through ``dismiss`` (the caller's callback decides what to do);
none of them touches the session.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class _Dialog(ModalScreen[str]):
    """A titled box with a message and a row of buttons; a button's id is the answer."""

    DEFAULT_CLASSES = "dialog-screen"
    # (answer, label, variant)
    BUTTONS: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    ESCAPE_ANSWER = ""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "escape", "Close")]

    def __init__(self, title: str, message: str, *, wide: bool = False) -> None:
        super().__init__()
        self.dialog_title = title
        self.message = message
        # The button focused first (Enter answers it); None: the first one.
        self.focus_id: str | None = None
        # Wide for messages with long lines (ids and URLs side by side).
        self.dialog_classes = "wide-dialog" if wide else ""

    def buttons(self) -> tuple[tuple[str, str, str], ...]:
        return self.BUTTONS

    def compose(self) -> ComposeResult:
        with Vertical(classes=f"dialog {self.dialog_classes}".strip()):
            yield Static(self.dialog_title, classes="dialog-title", markup=False)
            # Scrolls when long (a rollback's list at 80×24): the buttons stay on screen.
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.message, classes="dialog-message", markup=False)
            yield from self.compose_body()
            with Horizontal(classes="dialog-buttons"):
                for answer, label, variant in self.buttons():
                    yield Button(label, id=answer, variant=variant, compact=True)  # type: ignore[arg-type]

    def compose_body(self) -> ComposeResult:
        return iter(())

    def on_mount(self) -> None:
        # Textual runs every class's on_mount, so subclasses set focus_id instead.
        first = self.query(f"#{self.focus_id}") if self.focus_id else self.query(Button)
        first.first().focus()

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id or "")

    def action_escape(self) -> None:
        self.dismiss(self.ESCAPE_ANSWER)


class ResumeModal(_Dialog):
    """Saved progress found: carry on, go straight to the review, or start over."""

    BUTTONS = (
        ("resume", "Resume", "primary"),
        ("review", "Review", "default"),
        ("restart", "Start over", "warning"),
    )
    ESCAPE_ANSWER = "resume"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "escape", "Resume"),
        Binding("r", "pick('resume')", "Resume", show=False),
        Binding("v", "pick('review')", "Review", show=False),
        Binding("s", "pick('restart')", "Start over", show=False),
    ]

    def action_pick(self, answer: str) -> None:
        self.dismiss(answer)


class CheckFailedModal(_Dialog):
    """The live check said no: fix the values, go on regardless, or skip the step."""

    BUTTONS = (
        ("edit", "Edit values", "primary"),
        ("continue", "Continue anyway", "default"),
        ("skip", "Skip step", "warning"),
    )
    ESCAPE_ANSWER = "edit"


class ConfirmModal(_Dialog):
    """Yes or no before something is written (or forgotten)."""

    BUTTONS = (("yes", "Apply", "success"), ("no", "Cancel", "default"))
    ESCAPE_ANSWER = "no"

    def __init__(
        self,
        title: str,
        message: str,
        *,
        yes: str = "Apply",
        safe_default: bool = False,
        wide: bool = False,
    ) -> None:
        super().__init__(title, message, wide=wide)
        self.yes_label = yes
        # Destructive questions start on Cancel, so a stray Enter changes nothing.
        self.focus_id = "no" if safe_default else "yes"

    def buttons(self) -> tuple[tuple[str, str, str], ...]:
        variant = "error" if self.focus_id == "no" else "success"
        return (("yes", self.yes_label, variant), ("no", "Cancel", "default"))


class MessageModal(_Dialog):
    """An error or notice that needs more room than a notification."""

    BUTTONS = (("ok", "OK", "primary"),)
    ESCAPE_ANSWER = "ok"


class SkipModal(ModalScreen[str | None]):
    """Why skip? The reason goes into the state file (it must not be a secret)."""

    DEFAULT_CLASSES = "dialog-screen"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_REASON = "skipped in the wizard"

    def __init__(self, step_title: str) -> None:
        super().__init__()
        self.step_title = step_title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Skip {self.step_title}", classes="dialog-title", markup=False)
            yield Static(
                "Why? The reason is recorded with your progress (no secrets here).",
                classes="dialog-message",
                markup=False,
            )
            yield Input(placeholder=self.DEFAULT_REASON, id="skip-reason", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Skip", id="skip", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#skip-reason", Input).focus()

    def _reason(self) -> str:
        return self.query_one("#skip-reason", Input).value.strip() or self.DEFAULT_REASON

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self._reason())

    @on(Button.Pressed, "#skip")
    def _skip(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self._reason())

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProblemsModal(ModalScreen[None]):
    """Every problem met in this run, newest first, whole and wrapped: a failed check's
    message stays readable after its notification has gone."""

    DEFAULT_CLASSES = "dialog-screen"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,ctrl+e,q", "close", "Close")]

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Static("Problems in this run", classes="dialog-title", markup=False)
            with VerticalScroll(classes="help-body", id="problems-body"):
                if not self.entries:
                    yield Static("None so far.", markup=False)
                for where, message in reversed(self.entries):
                    line = Text.assemble((where, "bold"), "\n", (message, "red"))
                    yield Static(line, classes="problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
