"""The values of one run: app values, operator credentials and choices, kept apart.

App values resolve in the contract's order: ``--set``, then ``--env-file``, then the
existing ``.env.<environment>``, then generation/defaults. Operator credentials come
from the process environment, the keyring, or a prompt — never from a file we write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# "saved": a public answer from an unfinished walk, kept in the state until the env file has it.
# "vercel": the value Vercel serves, read back where a generated or default one would replace it.
AppSource = Literal[
    "set",
    "env-file",
    "existing",
    "generated",
    "default",
    "provisioned",
    "derived",
    "saved",
    "vercel",
]
# Values a person gave (or a service issued): pushed even over a remote value we cannot see.
# "generated" and "default" never are: they would silently replace what production runs.
GIVEN_SOURCES = frozenset(
    {"set", "env-file", "existing", "provisioned", "derived", "saved", "vercel"}
)
_ORIGIN = {
    "set": "the value given (--set or typed in)",
    "env-file": "the value from --env-file",
    "provisioned": "the value a step just obtained",
    "derived": "the value derived from the operator's settings",
    "generated": "a new random value (--rotate)",
    "saved": "the value saved by an unfinished walk",
    "vercel": "the value Vercel serves",
}
_OPERATOR_ORIGIN = {
    "environment": "the value from the environment",
    "keyring": "the value from the keyring",
    "prompt": "the value typed in",
    "set": "the value given with --set",
    "state": "the value remembered in the state",
}


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
    # Existing env-file values this wizard generated on an earlier run and never pushed
    # (recorded by the env-file step): still not a value anyone gave.
    generated_earlier: set[str] = field(default_factory=set)
    # Keys left alone everywhere in this run (key -> why): they exist remotely with a value
    # we cannot see, and the value here is generated or a default. Set after the checks.
    held: dict[str, str] = field(default_factory=dict)

    def set_app(self, key: str, value: str, source: AppSource) -> None:
        self.app[key] = value
        self.app_source[key] = source
        self.pending.pop(key, None)

    def origin(self, key: str, environment: str) -> str:
        """Where this run's value of ``key`` comes from, for a plan line."""
        if key in self.app:
            source = self.app_source.get(key)
            if source == "existing":
                return f"the value in .env.{environment}"
            return _ORIGIN.get(source or "", "the value here")
        found = self.operator_source.get(key, "")
        if found in _OPERATOR_ORIGIN or not found:
            return _OPERATOR_ORIGIN.get(found, "the value given")
        from wizard.discover import describe_source  # found on this machine: gh, git remote

        return f"the value {describe_source(found)}"

    def get(self, key: str) -> str | None:
        if key in self.app:
            return self.app[key]
        if key in self.operator:
            return self.operator[key]
        return self.choices.get(key)
