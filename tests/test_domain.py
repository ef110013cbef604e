"""The `domain` step through the real CLI, against the Vercel and Cloudflare stand-ins: the
domain added once with www. redirecting, the records Vercel recommends created on Cloudflare,
unrelated and conflicting records left alone, and "waiting for DNS" without Cloudflare."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.vercel import FakeVercel, Project
from wizard.cli import main
from wizard.envfile import format_assignment

VERCEL_TOKEN = "vercel-test-token-0123456789"  # a Vercel token's shape
CF_TOKEN = "cf-token-0123456789abcdefghijklmnopqrstu"  # 40 characters
HOST = "dreampixel.app"


@dataclass
class World:
    vercel: FakeVercel
    cloudflare: FakeCloudflare
    project: Project
    zone: str
    app: Path
    inputs: Path
    use_cloudflare: bool = True

    def cli(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
        env = {
            "VERCEL_API_URL": self.vercel.url,
            "VERCEL_TOKEN": VERCEL_TOKEN,
            "VERCEL_PROJECT_ID": self.project.name,
            "CLOUDFLARE_API_URL": self.cloudflare.url,
        }
        if self.use_cloudflare:
            env["CLOUDFLARE_API_TOKEN"] = CF_TOKEN
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        argv = ["--project-dir", str(self.app), *args, "--env-file", str(self.inputs)]
        return main([*argv, "--only", "domain"])

    def plan(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict:
        assert self.cli(monkeypatch, "plan", "--json") in (0, 2)
        return {
            (c["target"], c["resource"]): c
            for c in json.loads(capsys.readouterr().out)["changes"]
            if "resource" in c
        }

    def dns(self) -> list[tuple[str, str, str, bool]]:
        return [
            (r["type"], r["name"], r["content"], r["proxied"])
            for r in self.cloudflare.records(self.zone)
        ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    inputs = tmp_path / "inputs.env"
    inputs.write_text(format_assignment("NEXTAUTH_URL", f"https://{HOST}") + "\n")
    with FakeVercel(VERCEL_TOKEN) as vercel, FakeCloudflare(CF_TOKEN) as cloudflare:
        project = vercel.add_project("dream-pixel")
        zone = cloudflare.add_zone(HOST)
        # Records that are none of the wizard's business.
        cloudflare.add_record(zone, "MX", HOST, "mx.mail.example")
        cloudflare.add_record(zone, "TXT", HOST, "v=spf1 include:_spf.example ~all")
        cloudflare.add_record(zone, "A", f"mail.{HOST}", "192.0.2.10")
        yield World(vercel, cloudflare, project, zone, app, inputs)


UNRELATED = [
    ("A", f"mail.{HOST}", "192.0.2.10", False),
    ("MX", HOST, "mx.mail.example", False),
    ("TXT", HOST, "v=spf1 include:_spf.example ~all", False),
]


def test_domain_and_records_created_once_unrelated_untouched(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cname = world.vercel.recommended_cname
    plan = world.plan(monkeypatch, capsys)
    assert plan[("vercel", f"domain:{HOST}")]["action"] == "create"
    assert plan[("vercel", f"domain:www.{HOST}")]["detail"] == f"redirects to {HOST} (308)"
    assert plan[("cloudflare", f"dns:A {HOST}")] == {
        "target": "cloudflare",
        "resource": f"dns:A {HOST}",
        "action": "create",
        "detail": "76.76.21.21, proxied",
    }
    assert plan[("cloudflare", f"dns:CNAME www.{HOST}")]["action"] == "create"
    assert not world.vercel.writes() and len(world.dns()) == 3  # the plan changed nothing

    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert world.vercel.domains == {HOST: world.project.id, f"www.{HOST}": world.project.id}
    assert world.vercel.domain_redirects[f"www.{HOST}"] == HOST
    assert sorted(world.dns()) == sorted(
        [*UNRELATED, ("A", HOST, "76.76.21.21", True), ("CNAME", f"www.{HOST}", cname, True)]
    )

    # A rerun changes nothing.
    capsys.readouterr()
    writes = len(world.vercel.writes())
    plan = world.plan(monkeypatch, capsys)
    assert not [c for c in plan.values() if c["action"] not in ("unchanged", "check")]
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    assert len([r for r in world.cloudflare.requests() if r.method != "GET"]) == 2
    assert len([w for w in world.vercel.writes() if "/verify" not in w.path]) == writes


def test_a_conflicting_record_is_shown_and_left_unless_replace(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.cloudflare.add_record(world.zone, "CNAME", f"www.{HOST}", "old-host.example.net")
    assert world.cli(monkeypatch, "apply", "--yes") == 1
    err = capsys.readouterr().err
    assert f"CNAME www.{HOST} → old-host.example.net" in err
    assert "--set dns_replace=yes" in err
    assert ("CNAME", f"www.{HOST}", "old-host.example.net", False) in world.dns()
    assert not [r for r in world.cloudflare.requests() if r.method != "GET"]

    assert world.cli(monkeypatch, "apply", "--yes", "--set", "dns_replace=yes") == 0
    cname = world.vercel.recommended_cname
    assert sorted(world.dns()) == sorted(
        [*UNRELATED, ("A", HOST, "76.76.21.21", True), ("CNAME", f"www.{HOST}", cname, True)]
    )


def test_an_unverified_domain_gets_its_txt_challenge(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.vercel.unverified.add(HOST)
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    txt = [r for r in world.dns() if r[0] == "TXT" and r[1] == f"_vercel.{HOST}"]
    assert txt == [
        ("TXT", f"_vercel.{HOST}", f"vc-domain-verify={HOST},{world.project.id[-6:]}", False)
    ]


def test_without_cloudflare_it_lists_the_records_and_waits_for_dns(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.use_cloudflare = False
    assert world.cli(monkeypatch, "apply", "--yes") == 1
    err = capsys.readouterr().err
    assert f"A {HOST} → 76.76.21.21" in err
    assert f"CNAME www.{HOST} → {world.vercel.recommended_cname}" in err
    assert "waiting for DNS" in err and "apply --only domain" in err
    assert world.vercel.domains  # the domain itself was added

    world.vercel.configured |= {HOST, f"www.{HOST}"}
    assert world.cli(monkeypatch, "apply", "--yes") == 0
    adds = [w for w in world.vercel.writes() if w.path.endswith("/domains")]
    assert len(adds) == 2  # added once, not again


def test_a_domain_held_by_another_project_is_named(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = world.vercel.add_project("someone-else")
    world.vercel.domains[HOST] = other.id
    assert world.cli(monkeypatch, "apply", "--yes") == 1
    err = capsys.readouterr().err
    assert f"{HOST} is held by another Vercel project or team" in err
    assert "Traceback" not in err
