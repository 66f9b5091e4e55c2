"""Traffic by nginx upstream: rewrite the upstream file atomically, test, reload.

The file holds only the ``upstream`` block (``include``d by the site's nginx config).
It is written to a temporary file in the same directory, flushed to disk and renamed
over the old one, so nginx never reads half a file. If a test command is configured and
fails, the previous file is put back and nothing is reloaded.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from drappha.adapters import ActionContext, Outcome
from drappha.adapters.command import judge, run_process
from drappha.specs import NginxUpstreamAction


def render_upstream(spec: NginxUpstreamAction, ctx: ActionContext) -> str:
    """The upstream block sending traffic to ``ctx.servers``."""
    options = f" {spec.server_options.strip()}" if spec.server_options.strip() else ""
    lines = [
        f"# managed by drappha: app={ctx.app} site={ctx.site} operation={ctx.operation_id}",
        f"upstream {spec.upstream} {{",
        *(f"    server {server}{options};" for server in ctx.servers),
        "}",
        "",
    ]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never a mix."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


class NginxUpstreamRunner:
    """Point an nginx upstream at the target site's servers and reload nginx."""

    def __init__(self, spec: NginxUpstreamAction) -> None:
        self._spec = spec

    async def run(self, ctx: ActionContext) -> Outcome:
        spec = self._spec
        if not ctx.servers:
            return Outcome(False, f"site {ctx.site} has no servers configured for the upstream")
        previous = spec.file.read_text(encoding="utf-8") if spec.file.exists() else None
        write_atomically(spec.file, render_upstream(spec, ctx))
        if spec.test_argv:
            code, output = await run_process(spec.test_argv, ctx.environment())
            if code != 0:
                if previous is not None:
                    write_atomically(spec.file, previous)
                return Outcome(
                    False, f"config test failed, previous upstream restored: {output[-200:]}"
                )
        code, output = await run_process(spec.reload_argv, ctx.environment())
        outcome = judge(code, output, None)
        if not outcome.ok:
            return Outcome(False, f"reload failed: {outcome.detail}")
        return Outcome(True, f"upstream {spec.upstream} -> {', '.join(ctx.servers)}; reloaded")
