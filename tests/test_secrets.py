"""Tokens never leak: not in output, logs, JSON, transcripts, URLs, files or process arguments."""
from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

from support import run_cli


def all_tokens(config_home: Path) -> list[str]:
    data = json.loads((config_home / "nemovideo" / "tokens.json").read_text())
    return [entry["token"] for entry in data.values()]


def test_no_token_anywhere_a_user_or_log_can_see(cli_env, engine, engine_config, clip: Path, tmp_path: Path,
                                                 isolated_home: Path) -> None:
    outputs: list[str] = []
    args_seen: list[str] = []
    stop = threading.Event()

    def watch_processes() -> None:  # every command line on the machine while we work
        while not stop.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        args_seen.append((entry / "cmdline").read_bytes().decode("utf-8", "replace"))
                    except OSError:
                        pass
            stop.wait(0.05)

    watcher = threading.Thread(target=watch_processes, daemon=True)
    watcher.start()
    try:
        for args in (["say", "--attach", str(clip), "add a title 'x' for 2 seconds"],
                     ["say", "--json", "status"], ["say", "credits"],
                     ["say", "--json", "export", "-o", str(tmp_path / "v.mp4")],
                     ["route", "--json", "export"], ["skill", "show", "--json"]):
            result = run_cli(*args, env=cli_env)
            outputs += [result.stdout, result.stderr]
        scenario = tmp_path / "s.scenario.yaml"
        scenario.write_text("name: s\nturns:\n  - say: credits\n    expect: {reply_contains: nothing-like-this}\n")
        result = run_cli("test", str(scenario), "--junit", str(tmp_path / "junit.xml"))
        outputs += [result.stdout, result.stderr, (tmp_path / "junit.xml").read_text()]
        piped = run_cli("chat", env=cli_env, input="status\n/credits\n")
        outputs += [piped.stdout, piped.stderr]
    finally:
        stop.set()
        watcher.join()
    tokens = all_tokens(isolated_home / ".config")
    assert tokens and all(t.startswith("nmv_usr_") for t in tokens)
    files = [p for p in (isolated_home / ".config" / "nemovideo").iterdir() if p.name != "tokens.json"]
    files += list(engine_config.data_dir.rglob("*.json")) + list(engine_config.data_dir.rglob("*.log"))
    texts = outputs + [p.read_text(errors="replace") for p in files if p.is_file()]
    for token in tokens:
        assert not any(token in text for text in texts), "a token leaked into output, logs or files"
        assert not any(token in arg for arg in args_seen), "a token appeared in a process's arguments"
    assert "/workspace/claim?ct=clm_" in "".join(outputs)  # links go through claim tokens


def test_secret_files_are_private(cli_env, engine, isolated_home: Path) -> None:
    run_cli("say", "status", env=cli_env)
    root = isolated_home / ".config" / "nemovideo"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in root.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_loose_config_dir_is_tightened(cli_env, engine, isolated_home: Path) -> None:
    root = isolated_home / ".config" / "nemovideo"
    root.mkdir(parents=True)
    os.chmod(root, 0o755)
    run_cli("say", "status", env=cli_env)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_engine_never_stores_tokens_in_clear(engine, engine_config) -> None:
    import httpx

    token = httpx.post(f"{engine.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c"}).json()["data"]["token"]
    stored = b"".join(p.read_bytes() for p in engine_config.data_dir.rglob("*") if p.is_file())
    assert token.encode() not in stored and token[len("nmv_usr_"):].encode() not in stored


def test_token_not_in_error_messages(cli_env, engine, monkeypatch) -> None:
    secret = "nmv_usr_THIS_IS_SECRET_1234567890"
    result = run_cli("say", "--json", "credits", env={**cli_env, "NEMO_TOKEN": secret})
    assert result.returncode == 1
    assert secret not in result.stdout + result.stderr
    assert "NEMO_TOKEN" in json.loads(result.stdout)["errors"][0]["message"]


def test_a_loosened_token_file_is_tightened_when_read(isolated_home: Path) -> None:
    from skill.store import ClientStore

    store = ClientStore()
    store.ensure()
    tokens = store.root / "tokens.json"
    tokens.write_text("{}")
    os.chmod(tokens, 0o644)
    store.token("http://127.0.0.1:1")
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
