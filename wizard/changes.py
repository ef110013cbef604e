"""What a plan or an apply reports: one ``Change`` per key or resource touched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Actions a change may carry. Keys: add/update/unchanged/unknown/remove/keep (exists
# remotely, unseen, and left alone). Resources: create/update/apply/unchanged/skip/check/unknown
# (apply: a migration, a seed); missing: something a workflow uses that nobody set.
ACTIONS = frozenset(
    {
        "add",
        "update",
        "unchanged",
        "unknown",
        "remove",
        "create",
        "apply",
        "skip",
        "check",
        "fail",
        "keep",
        "missing",
    }
)
MUTATING = frozenset({"add", "update", "remove", "create", "apply"})


@dataclass(frozen=True)
class Change:
    target: str  # "env-file" | "vercel" | "github" | a step id
    name: str  # the key, or the resource
    action: str
    detail: str = ""  # never a secret value
    kind: str = "key"  # "key" or "resource": the JSON field name

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target, self.kind: self.name, "action": self.action}
        if self.detail:
            out["detail"] = self.detail
        return out

    @property
    def mutating(self) -> bool:
        return self.action in MUTATING or self.action == "unknown"
