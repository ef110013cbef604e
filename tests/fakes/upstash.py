"""A fake Upstash Redis REST endpoint: ``GET /ping`` and ``POST /`` with a command array."""

from __future__ import annotations

from tests.fakes.base import FakeService, Reply, Request


class FakeUpstash(FakeService):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.route("GET", "/ping")(self._ping)
        self.route("POST", "/")(self._command)

    def __enter__(self) -> FakeUpstash:  # typed for the subclass's own helpers
        self.start()
        return self

    def _auth(self, req: Request) -> Reply | None:
        if req.bearer != self.token:
            return Reply(401, {"error": "WRONGPASS invalid or missing auth token"})
        return None

    def _ping(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        return Reply(200, {"result": "PONG"})

    def _command(self, req: Request) -> Reply:
        if (denied := self._auth(req)) is not None:
            return denied
        cmd = req.json()
        if not isinstance(cmd, list) or not cmd:
            return Reply(400, {"error": "ERR failed to parse command"})
        if str(cmd[0]).upper() == "PING":
            return Reply(200, {"result": "PONG"})
        return Reply(400, {"error": f"ERR unknown command '{cmd[0]}'"})
