"""How a value may appear on screen or in output: never whole, unless public."""

from __future__ import annotations


def masked(value: str | None, *, public: bool) -> str:
    """Secret values show only as dots and their length; public ones a ≤4-char prefix."""
    if value is None:
        return "(not set)"
    if value == "":
        return "(empty)"
    if public:
        return f"{value[:4]}… ({len(value)} chars)"
    return f"•••• ({len(value)} chars)"
