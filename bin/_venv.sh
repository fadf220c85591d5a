# Sourced by bin/ai-music and bin/test: make sure .venv exists and has the project
# installed (editable) with the given extras. Safe to re-run: it reinstalls only when
# pyproject.toml changed since the last install.
ensure_venv() {
  local root="$1" extras="$2"
  local venv="$root/.venv" stamp
  stamp="$venv/.installed${extras:+-$extras}"
  if [ ! -x "$venv/bin/python" ]; then
    echo "ai-music: creating $venv (first run only)…" >&2
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  local want
  want="$(cat "$root/pyproject.toml" | "${PYTHON:-python3}" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "ai-music: installing the project into .venv (first run only; takes a minute)…" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root${extras:+[$extras]}" >&2
    echo "$want" > "$stamp"
  fi
}
