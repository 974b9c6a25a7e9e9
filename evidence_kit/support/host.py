"""Facts about the machine and the CI run a bundle is made on (kept in the manifest only)."""

from __future__ import annotations

import platform
import socket
from collections.abc import Mapping


def ci_context(env: Mapping[str, str]) -> dict[str, str | None] | None:
    """Facts about the CI run, when there is one (GitHub Actions in full, others by name)."""
    if env.get("GITHUB_ACTIONS") == "true":
        keys = (
            "GITHUB_RUN_ID",
            "GITHUB_RUN_ATTEMPT",
            "GITHUB_REF",
            "GITHUB_SHA",
            "GITHUB_REPOSITORY",
            "GITHUB_WORKFLOW",
            "GITHUB_JOB",
            "GITHUB_EVENT_NAME",
            "GITHUB_SERVER_URL",
        )
        return {"provider": "github-actions", **{k.lower().removeprefix("github_"): env.get(k) for k in keys}}
    for var, name in (
        ("GITLAB_CI", "gitlab"),
        ("BUILDKITE", "buildkite"),
        ("CIRCLECI", "circleci"),
        ("JENKINS_URL", "jenkins"),
    ):
        if env.get(var):
            return {"provider": name}
    if env.get("CI", "").lower() in ("true", "1"):
        return {"provider": "unknown"}
    return None


def host_facts() -> dict[str, str]:
    """The machine that made the bundle (kept in the manifest only, never in artifacts)."""
    return {
        "name": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
