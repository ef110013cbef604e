"""Text from services (and from the state file) made safe to print on a terminal.

A service's error message is text, never terminal input: an ``ESC ]0;…BEL`` would retitle
the window, ``ESC [2J`` clear the screen, a ``\\r`` or a bidi override hide what the line
really says. ``printable`` removes whole escape sequences and replaces every other control
character (C0, DEL, C1, line and paragraph separators, bidi controls) so one line stays
one visible line.
"""

from __future__ import annotations

import re

# Whole sequences first, so their parameters do not survive as stray text: CSI (ESC [ or
# the C1 CSI), OSC / DCS / SOS / PM / APC strings up to BEL or ST, then any other ESC pair.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
# What is left that a terminal would act on, or that makes a line read differently.
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_SPACE = re.compile(r"[\t\n\r\v\f]+")

REPLACEMENT = "\ufffd"


def printable(text: str) -> str:
    """``text`` with escape sequences removed and control characters neutralised.

    Tabs and line breaks become one space (a message is one line); any other control or
    bidi character becomes U+FFFD, so a reader sees that something was there.
    """
    text = _SEQUENCE.sub("", text)
    text = _SPACE.sub(" ", text)
    return _CONTROL.sub(REPLACEMENT, text)
