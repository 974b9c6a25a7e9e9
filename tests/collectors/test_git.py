"""The git collector against real repositories made in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.collectors import git as git_collector
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its stdout; fails the test on a non-zero exit."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def commit(repo: Path, message: str, files: dict[str, str]) -> str:
    """Write `files`, stage everything and commit; returns the new sha."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository on `main` with three commits."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "Add readme", {"README.md": "# demo\n"})
    commit(path, "Add app", {"app.py": "print('hello')\n", "lib/util.py": "X = 1\n"})
    commit(path, "Tune util", {"lib/util.py": "X = 2\n"})
    return path


def collect(root: Path, scratch: Path, **options: Any) -> dict[str, Output]:
    ctx = Context(root=root, scratch=scratch)
    return {o.name: o for o in git_collector.collect(ctx, options)}


def content(output: Output) -> bytes:
    if output.data is not None:
        return output.data
    assert output.source is not None
    return output.source.read_bytes()


def as_json(output: Output) -> Any:
    assert output.media_type == "application/json"
    return json.loads(content(output))


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under `folder`, to prove the collector wrote nothing there."""
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_clean_tree(repo: Path, tmp_path: Path) -> None:
    out = collect(repo, tmp_path / "scratch")
    assert set(out) == {"head.json", "status.txt", "status.json", "log.txt", "log.json", "diff.patch"}
    assert all(o.status == "ok" for o in out.values())

    head = as_json(out["head.json"])
    assert head["sha"] == git(repo, "rev-parse", "HEAD").strip()
    assert head["short_sha"] == git(repo, "rev-parse", "--short=12", "HEAD").strip()
    assert len(head["short_sha"]) == 12
    assert head["branch"] == "main"
    assert head["detached"] is False
    assert head["shallow"] is False
    assert head["dirty"] is False
    assert head["tags"] == []
    assert head["describe"] == head["short_sha"]

    assert content(out["status.txt"]) == b"<clean>\n"
    assert as_json(out["status.json"]) == {"clean": True, "entries": []}
    assert content(out["diff.patch"]) == b""
    assert out["diff.patch"].truncated is False

    commits = as_json(out["log.json"])["commits"]
    assert [c["subject"] for c in commits] == ["Tune util", "Add app", "Add readme"]
    first = commits[0]
    assert first["sha"] == head["sha"]
    assert first["parents"] == [commits[1]["sha"]]
    assert commits[-1]["parents"] == []
    assert first["author"] == {"name": "Test Author", "email": "author@example.invalid"}
    assert first["authored"] == "2026-01-01T00:00:00+00:00"

    log_lines = content(out["log.txt"]).decode().splitlines()
    assert len(log_lines) == 3
    assert log_lines[0].startswith(head["short_sha"])
    assert "HEAD -> main" in log_lines[0]
    assert out["log.txt"].argv is not None and out["log.txt"].argv[:2] == ("git", "log")
    assert out["log.txt"].started is not None and out["log.txt"].finished is not None


def test_log_count(repo: Path, tmp_path: Path) -> None:
    out = collect(repo, tmp_path / "scratch", log=2)
    assert len(as_json(out["log.json"])["commits"]) == 2
    assert len(content(out["log.txt"]).splitlines()) == 2


def test_dirty_tree_lists_every_change(repo: Path, tmp_path: Path) -> None:
    (repo / "app.py").write_text("print('changed')\n")  # modified, not staged
    (repo / "notes.txt").write_text("scratch\n")  # untracked
    (repo / "new.py").write_text("Y = 1\n")
    git(repo, "add", "new.py")  # staged new file
    git(repo, "mv", "README.md", "README.rst")  # staged rename
    (repo / "lib" / "util.py").write_text("X = 3\n")
    git(repo, "add", "lib/util.py")
    (repo / "lib" / "util.py").write_text("X = 4\n")  # staged and modified again

    out = collect(repo, tmp_path / "scratch")
    assert as_json(out["head.json"])["dirty"] is True
    status = as_json(out["status.json"])
    assert status["clean"] is False
    assert status["entries"] == [
        {"path": "README.rst", "code": "R ", "orig_path": "README.md"},
        {"path": "app.py", "code": " M"},
        {"path": "lib/util.py", "code": "MM"},
        {"path": "new.py", "code": "A "},
        {"path": "notes.txt", "code": "??"},
    ]
    text = content(out["status.txt"]).decode()
    assert "?? notes.txt" in text
    assert "R  README.md -> README.rst" in text

    patch = content(out["diff.patch"]).decode()
    assert "print('changed')" in patch  # unstaged change
    assert "+Y = 1" in patch  # staged new file
    assert "+X = 4" in patch  # working tree wins over the staged version
    assert "notes.txt" not in patch  # untracked files are only in the status
    assert out["diff.patch"].media_type == "text/x-diff"


def test_never_touches_the_repository(repo: Path, tmp_path: Path) -> None:
    past = time.time() - 3600
    for path in (repo / "README.md", repo / "app.py"):
        os.utime(path, (past, past))
    git(repo, "update-index", "-q", "--refresh")
    (repo / "app.py").write_text("print('changed')\n")
    # NOTE: a file whose stat changed but whose content did not is what makes `git diff` rewrite the index.
    os.utime(repo / "README.md", (past + 60, past + 60))
    before = snapshot(repo)
    collect(repo, tmp_path / "scratch", base="main~1")
    assert snapshot(repo) == before


def test_tags_at_head(repo: Path, tmp_path: Path) -> None:
    git(repo, "tag", "v0.1", "HEAD~1")
    git(repo, "tag", "v1.0")
    git(repo, "tag", "-a", "release-1", "-m", "Release 1")
    out = collect(repo, tmp_path / "scratch")
    head = as_json(out["head.json"])
    assert head["tags"] == ["release-1", "v1.0"]
    assert head["describe"] in {"release-1", "v1.0"}


def test_describe_counts_commits_since_tag(repo: Path, tmp_path: Path) -> None:
    git(repo, "tag", "v0.1", "HEAD~1")
    out = collect(repo, tmp_path / "scratch")
    head = as_json(out["head.json"])
    assert head["tags"] == []
    assert head["describe"] == f"v0.1-1-g{head['short_sha']}"


def test_detached_head(repo: Path, tmp_path: Path) -> None:
    previous = git(repo, "rev-parse", "HEAD~1").strip()
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    out = collect(repo, tmp_path / "scratch")
    head = as_json(out["head.json"])
    assert head["sha"] == previous
    assert head["branch"] is None
    assert head["detached"] is True
    assert [c["subject"] for c in as_json(out["log.json"])["commits"]] == ["Add app", "Add readme"]


def test_shallow_clone(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    out = collect(clone, tmp_path / "scratch", base="main~2")
    head = as_json(out["head.json"])
    assert head["shallow"] is True
    assert head["sha"] == git(repo, "rev-parse", "HEAD").strip()
    assert head["branch"] == "main"
    commits = as_json(out["log.json"])["commits"]
    assert [c["subject"] for c in commits] == ["Tune util"]
    assert commits[0]["parents"] == []  # the history ends at the graft
    assert "grafted" in content(out["log.txt"]).decode()
    # The base lies beyond the clone's depth: reported, the rest is still there.
    error = out["range.error.txt"]
    assert error.status == "error"
    assert error.message is not None
    assert "not found" in error.message and "shallow" in error.message
    assert "git fetch --depth" in error.message
    assert "range.json" not in out
    assert out["status.json"].status == "ok"


def test_base_range(repo: Path, tmp_path: Path) -> None:
    main_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    commit(
        repo, "Add runs endpoint", {"api/runs.py": "def runs():\n    return []\n", "app.py": "print('v2')\n"}
    )
    git(repo, "rm", "-q", "lib/util.py")
    git(repo, "mv", "README.md", "docs.md")
    git(repo, "commit", "-q", "-m", "Drop util, move readme")
    # main moves on after the branch point: the range must still start at the merge base.
    git(repo, "checkout", "-q", "main")
    commit(repo, "Hotfix on main", {"hotfix.txt": "fix\n"})
    git(repo, "checkout", "-q", "feature")

    out = collect(repo, tmp_path / "scratch", base="main")
    rng = as_json(out["range.json"])
    assert rng["base"] == "main"
    assert rng["base_sha"] == git(repo, "rev-parse", "main").strip()
    assert rng["merge_base"] == main_sha
    assert [c["subject"] for c in rng["commits"]] == ["Drop util, move readme", "Add runs endpoint"]
    assert rng["files"] == [
        {"path": "api/runs.py", "status": "A"},
        {"path": "app.py", "status": "M"},
        {"path": "docs.md", "status": "R", "similarity": 100, "old_path": "README.md"},
        {"path": "lib/util.py", "status": "D"},
    ]
    patch = content(out["range.patch"]).decode()
    assert "+++ b/api/runs.py" in patch
    assert "hotfix.txt" not in patch  # three-dot diff: only the branch's own changes
    range_log = content(out["range_log.txt"]).decode().splitlines()
    assert len(range_log) == 2
    assert "Drop util, move readme" in range_log[0]


def test_missing_base_ref(repo: Path, tmp_path: Path) -> None:
    out = collect(repo, tmp_path / "scratch", base="origin/nope")
    error = out["range.error.txt"]
    assert error.status == "error"
    assert error.message is not None
    assert "'origin/nope' not found" in error.message
    assert "git fetch --depth" in error.message
    assert error.message.encode() in content(error)
    assert {"head.json", "status.json", "status.txt", "log.txt", "log.json", "diff.patch"} <= set(out)
    assert all(o.status == "ok" for name, o in out.items() if name != "range.error.txt")


def test_diff_cap_marks_truncation(repo: Path, tmp_path: Path) -> None:
    (repo / "app.py").write_text("".join(f"line {i}\n" for i in range(2000)))
    out = collect(repo, tmp_path / "scratch", diff_max_bytes=500)
    patch = out["diff.patch"]
    assert patch.truncated is True
    assert patch.limit == 500
    assert len(content(patch)) == 500


def test_path_is_relative_to_root(repo: Path, tmp_path: Path) -> None:
    (repo / "lib" / "extra.txt").write_text("x\n")
    out = collect(tmp_path, tmp_path / "scratch", path="repo/lib")
    # Paths are those of the whole checkout, whatever folder `path` names inside it.
    assert as_json(out["status.json"])["entries"] == [{"path": "lib/extra.txt", "code": "??"}]


def test_repository_without_commits(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("a\n")
    out = collect(path, tmp_path / "scratch")
    head = as_json(out["head.json"])
    assert head["sha"] is None and head["branch"] == "main" and head["dirty"] is True
    assert out["log.error.txt"].status == "error"
    assert out["diff.error.txt"].message == f"{path} has no commits yet"


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(CollectorError) as caught:
        collect(plain, tmp_path / "scratch")
    assert caught.value.message == f"{plain} is not inside a git repository"
    assert caught.value.hint
    assert git_collector.head_sha(plain) is None


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="does not exist"):
        collect(tmp_path, tmp_path / "scratch", path="nowhere")


def test_git_missing(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(CollectorError) as caught:
        collect(repo, tmp_path / "scratch")
    assert caught.value.message == "git is not installed"
    assert "install git" in caught.value.hint
    assert git_collector.head_sha(repo) is None


def test_inherited_git_dir_is_ignored(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    out = collect(repo, tmp_path / "scratch")
    assert as_json(out["head.json"])["branch"] == "main"


def test_head_sha(repo: Path) -> None:
    assert git_collector.head_sha(repo) == git(repo, "rev-parse", "HEAD").strip()
    assert git_collector.head_sha(repo / "lib") == git(repo, "rev-parse", "HEAD").strip()


def test_deterministic(repo: Path, tmp_path: Path) -> None:
    git(repo, "tag", "v1")
    git(repo, "branch", "base", "HEAD~2")
    (repo / "app.py").write_text("print('changed')\n")
    (repo / "untracked.txt").write_text("u\n")
    first = collect(repo, tmp_path / "scratch", base="base")
    second = collect(repo, tmp_path / "scratch", base="base")
    assert sorted(first) == sorted(second)
    assert len(first) == 9
    for name in first:
        assert content(first[name]) == content(second[name]), name


def test_options_schema_is_valid() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(git_collector.OPTIONS_SCHEMA)
    validator = jsonschema.Draft202012Validator(git_collector.OPTIONS_SCHEMA)
    assert validator.is_valid({"path": ".", "log": 5, "base": "origin/main", "diff_max_bytes": 1000})
    assert not validator.is_valid({"base": "--output=/tmp/x"})
    assert not validator.is_valid({"bogus": 1})
    assert all("description" in prop for prop in git_collector.OPTIONS_SCHEMA["properties"].values())


def test_context_env_is_used(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    ctx = Context(root=repo, scratch=tmp_path / "scratch", env={"PATH": str(empty)})
    with pytest.raises(CollectorError, match="git is not installed"):
        git_collector.collect(ctx, {})
