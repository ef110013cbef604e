"""The values of one run: app values, operator credentials and choices, kept apart.

App values resolve in the contract's order: ``--set``, then ``--env-file``, then the
existing ``.env.<environment>``, then generation/defaults. Operator credentials come
from the process environment, the keyring, or a prompt — never from a file we write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AppSource = Literal["set", "env-file", "existing", "generated", "default", "provisioned", "derived"]


@dataclass
class ValueStore:
    app: dict[str, str] = field(default_factory=dict)
    app_source: dict[str, AppSource] = field(default_factory=dict)
    operator: dict[str, str] = field(default_factory=dict)
    operator_source: dict[str, str] = field(
        default_factory=dict
    )  # "environment"/"keyring"/"prompt"/"set"
    choices: dict[str, str] = field(default_factory=dict)
    # Keys a step will produce when applied (known only then): the plan shows them.
    pending: dict[str, str] = field(default_factory=dict)  # key -> step id

    def set_app(self, key: str, value: str, source: AppSource) -> None:
        self.app[key] = value
        self.app_source[key] = source
        self.pending.pop(key, None)

    def get(self, key: str) -> str | None:
        if key in self.app:
            return self.app[key]
        if key in self.operator:
            return self.operator[key]
        return self.choices.get(key)
