"""The Dockerfile: pinned multi-stage build, non-root runtime, a build context that holds
what the build copies, a package that carries every service, and a health probe that
tells 200 from 503 (run here against real HTTP and HTTPS servers)."""

from __future__ import annotations

import fnmatch
import http.server
import re
import shutil
import ssl
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.deploy.compose import ROOT
from tests.integration.deploy.conftest import DEPLOYMENTS

DOCKERFILE = ROOT / "Dockerfile"
TEXT = DOCKERFILE.read_text(encoding="utf-8")
PROBE = re.search(
    r"COPY --chmod=0755 <<'EOF' /usr/local/bin/dr-healthcheck\n(.*?)\nEOF\n", TEXT, re.S
)


def _stages() -> list[list[str]]:
    """Instructions per stage (continuation lines joined, here-document bodies skipped)."""
    stages: list[list[str]] = [[]]
    text = re.sub(r"<<'EOF'(.*?)\nEOF\n", "<<'EOF'\n", TEXT, flags=re.S)
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_base_image_is_pinned_and_build_is_multi_stage() -> None:
    preamble, *stages = _stages()
    arg = next(i for i in preamble if i.startswith("ARG PYTHON_IMAGE="))
    image = arg.split("=", 1)[1]
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+", image), image
    requires = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert requires and int(image.split(".")[1]) >= int(requires[1])
    assert [s[0] for s in stages] == [
        "FROM ${PYTHON_IMAGE} AS build",
        "FROM ${PYTHON_IMAGE} AS runtime",
    ]


def test_runtime_runs_as_an_unprivileged_user() -> None:
    runtime = _stages()[-1]
    users = [i.split()[1] for i in runtime if i.startswith("USER ")]
    assert users == ["10001:10001"]
    assert not any(i.startswith("RUN ") for i in runtime[runtime.index("USER 10001:10001"):])
    assert any("useradd --system --uid 10001" in i for i in runtime)
    # The state directories exist, owned by dr, so fresh named volumes inherit that.
    made = next(i for i in runtime if "install -d -o dr -g dr" in i)
    for program in ("drcapture", "drapply", "drappha", "drcontrol"):
        assert f"/var/lib/{program}" in made


def _ignored(relative: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used there (last match wins, ! re-adds)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
               for p in prefixes) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(x, pattern[3:]) for x in parts)
        ):
            ignored = not negate
    return ignored


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith("#")]


def _context_files() -> Iterator[Path]:
    patterns = _dockerignore()
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and not _ignored(relative, patterns):
            yield path


def test_build_context_holds_what_the_build_copies_and_nothing_else() -> None:
    copied = [
        i.split()[1:-1] for stage in _stages() for i in stage
        if i.startswith("COPY ") and "--from=" not in i and "<<" not in i
    ]
    sources = [s.rstrip("/") for group in copied for s in group]
    assert sources == ["requirements", "pyproject.toml", "README.md", "libs", "services"]
    patterns = _dockerignore()
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is excluded from the context"
    for kept_out in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "var/x",
                     "deploy/chunan/make-secrets.sh",
                     "services/capture/drcapture/__pycache__/x.pyc"):
        assert _ignored(kept_out, patterns), kept_out


def test_the_build_stage_installs_every_service(tmp_path: Path) -> None:
    """What `pip install .` does in the build stage, on a copy of the build context
    (PyPI serves the build requirements, as it does to the image build):
    the wheel carries every package and the console scripts the compose files run."""
    context = tmp_path / "context"
    for path in _context_files():
        target = context / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    result = subprocess.run(
        # With build isolation, as in the image: pip brings the build-system requirements.
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         str(context)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    wheel = next((tmp_path / "dist").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(
            next(n for n in names if n.endswith("entry_points.txt"))
        ).decode()
    for package in ("drcommon", "drcapture", "drapply", "drappha", "drcontrol"):
        assert f"{package}/__init__.py" in names, package
    scripts = set(re.findall(r"^(\S+) = ", entry_points, re.M))
    used = {"drctl"}  # the image's default command
    for deployment in DEPLOYMENTS:
        compose = deployment.load(Path("/x"))
        for name, service in compose.services.items():
            if str(service.get("image", "")).startswith(("oracle-dr:", "${DR_IMAGE")) or (
                compose.env.get("DR_IMAGE") and service.get("image") == compose.env["DR_IMAGE"]
            ):
                argv = compose.command(name)
                if argv and argv[0].startswith("dr") and argv[0] != "dr-healthcheck":
                    used.add(argv[0])
    assert used <= scripts, f"console scripts missing from the package: {used - scripts}"


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    """The dr-healthcheck script exactly as the Dockerfile writes it."""
    assert PROBE is not None, "the Dockerfile no longer writes dr-healthcheck"
    script = tmp_path / "dr-healthcheck"
    script.write_text(PROBE[1] + "\n", encoding="utf-8")
    return script


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        body = b'{"status": "ok"}' if self.path == "/health" else b"{}"
        self.send_response(self.status if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def _serve(status: int, context: ssl.SSLContext | None = None) -> http.server.HTTPServer:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _run(probe: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(probe), url], capture_output=True, text=True,
                          timeout=30, check=False)


def test_health_probe_tells_healthy_from_failing(probe: Path) -> None:
    ok, failing = _serve(200), _serve(503)
    try:
        assert _run(probe, f"http://127.0.0.1:{ok.server_port}/health").returncode == 0
        answer = _run(probe, f"http://127.0.0.1:{failing.server_port}/health")
        assert answer.returncode == 1 and "HTTP 503" in answer.stdout
        assert _run(probe, f"http://127.0.0.1:{ok.server_port}/missing").returncode == 1
    finally:
        ok.shutdown()
        failing.shutdown()
    closed = _run(probe, f"http://127.0.0.1:{ok.server_port}/health")
    assert closed.returncode == 1
    assert _run(probe, "ftp://127.0.0.1/health").returncode == 2


def test_health_probe_speaks_https_to_its_own_service(probe: Path, tmp_path: Path) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=apply.chunan.dr.example"],
        check=True, capture_output=True, timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _serve(200, context)
    try:
        assert _run(probe, f"https://127.0.0.1:{server.server_port}/health").returncode == 0
    finally:
        server.shutdown()
