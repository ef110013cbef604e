"""One catalogue field on screen: label, input (masked for secrets), help and error.

The row knows nothing about validation or the session: it shows what it is given and
says when the user left it, asked for a generated value, or picked a choice.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from wizard.catalogue import Field


def field_dom_id(key: str) -> str:
    return f"field-{key}"


class FieldRow(Vertical):
    """Label, control and help for one field; an error line under it when invalid."""

    class Left(Message):
        """The user left the field (blur): time for offline validation."""

        def __init__(self, row: FieldRow) -> None:
            super().__init__()
            self.row = row

    class Picked(Message):
        """A choice changed: visible fields may change with it."""

        def __init__(self, row: FieldRow, value: str) -> None:
            super().__init__()
            self.row = row
            self.value = value

    class Submitted(Message):
        """Enter in the field: move on (the next field, or Next on the last one)."""

        def __init__(self, row: FieldRow) -> None:
            super().__init__()
            self.row = row

    class GenerateRequested(Message):
        def __init__(self, row: FieldRow) -> None:
            super().__init__()
            self.row = row

    def __init__(
        self,
        field: Field,
        value: str | None,
        *,
        options: list[tuple[str, str]] | None = None,
        help: str | None = None,
        action: str | None = None,
    ) -> None:
        super().__init__(id=f"row-{field.key}", classes="field-row")
        self.field = field
        # The provider chosen may call for other help (Neon's URL, R2's keys).
        self.help_text = help or field.help
        # A button beside the input for what the page does with it (e.g. "load projects").
        self.action_label = action
        self._initial = value or ""
        # (label, value) pairs fetched at run time (Supabase projects): a Select, not an Input.
        self._options = options or [(c, c) for c in field.choices]

    # -- layout ------------------------------------------------------------------
    @property
    def initial(self) -> str:
        """The value shown when the row was built."""
        return self._initial

    def compose(self) -> ComposeResult:
        f = self.field
        label = f.label if f.required or "optional" in f.label else f"{f.label}  (optional)"
        yield Static(Text.assemble(label, ("  " + f.key, "dim")), classes="field-label")
        with Horizontal(classes="field-control"):
            if self._options:
                yield self._select(self._initial)
            else:
                yield Input(
                    self._initial,
                    placeholder=self._placeholder(),
                    password=f.secret,
                    compact=True,
                    id=field_dom_id(f.key),
                )
                if f.secret:
                    yield Button("show", compact=True, classes="reveal", id=f"reveal-{f.key}")
                if f.source == "generated":
                    yield Button("generate", compact=True, classes="generate", id=f"gen-{f.key}")
                if self.action_label:
                    yield Button(
                        self.action_label, compact=True, classes="row-action", id=f"act-{f.key}"
                    )
        # The error sits right under the control, before the help.
        yield Static("", classes="field-error", markup=False)
        if self.help_text:
            yield Static(self.help_text, classes="field-help", markup=False)

    def _select(self, current: str) -> Select[str]:
        value = current if current in self._values() else Select.NULL
        # Labels may be a service's names (Supabase projects): Text, never markup.
        return Select(
            [(Text(label), v) for label, v in self._options],
            value=value,
            allow_blank=value is Select.NULL,
            compact=True,
            id=field_dom_id(self.key),
        )

    def _values(self) -> set[str]:
        return {v for _, v in self._options}

    @property
    def options(self) -> list[tuple[str, str]]:
        return list(self._options)

    async def offer_options(self, options: list[tuple[str, str]]) -> None:
        """Turn the control into a Select of ``options``, keeping the current value if it
        is one of them and the focus if the control had it."""
        old = self.query_one(f"#{field_dom_id(self.key)}")
        current, had_focus = self.value, old.has_focus
        self._options = list(options)
        # The old control goes first: two widgets must never share the DOM id.
        await old.remove()
        select = self._select(current)
        await self.query_one(".field-control", Horizontal).mount(select, before=0)
        if had_focus:
            select.focus()

    def mark_stored(self, value: str) -> None:
        """The session now holds ``value``: later edits are compared with it."""
        self._initial = value

    def _placeholder(self) -> str:
        f = self.field
        if f.source == "provisioned":
            return "left empty: the step provides it"
        if f.source == "generated":
            return "left empty: generated"
        if f.source == "derived":
            return "left empty: derived"
        return f.default or ""

    # -- reading and writing (attributes down) --------------------------------------
    @property
    def key(self) -> str:
        return self.field.key

    @property
    def value(self) -> str:
        control = self.query_one(f"#{field_dom_id(self.key)}")
        if isinstance(control, Select):
            v = control.value
            return "" if v is Select.NULL else str(v)
        assert isinstance(control, Input)
        return control.value

    def set_value(self, value: str) -> None:
        control = self.query_one(f"#{field_dom_id(self.key)}")
        if isinstance(control, Select):
            control.value = value if value in self._values() else Select.NULL
        else:
            assert isinstance(control, Input)
            control.value = value

    def set_error(self, message: str | None) -> None:
        self.query_one(".field-error", Static).update(message or "")
        self.set_class(bool(message), "-invalid")

    @property
    def has_error(self) -> bool:
        return self.has_class("-invalid")

    def toggle_reveal(self) -> None:
        if not self.field.secret:
            return
        control = self.query_one(f"#{field_dom_id(self.key)}", Input)
        control.password = not control.password
        self.query_one(".reveal", Button).label = "show" if control.password else "hide"

    def focus_control(self, *, scroll: bool = True) -> None:
        self.query_one(f"#{field_dom_id(self.key)}").focus(scroll_visible=scroll)

    # -- events (messages up) ---------------------------------------------------------
    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        event.stop()
        self.post_message(self.Left(self))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        # An error is about the value it was given: a new value clears it (Next or
        # leaving the field checks again). Not stopped: the page clears its check's error.
        if self.has_error:
            self.set_error(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self))

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.post_message(self.Picked(self, str(event.value)))

    @on(Button.Pressed, ".reveal")
    def _reveal(self, event: Button.Pressed) -> None:
        event.stop()
        self.toggle_reveal()

    @on(Button.Pressed, ".generate")
    def _generate(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.GenerateRequested(self))
