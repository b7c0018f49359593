# Sourced by scripts/run and scripts/test: install monitor into .venv unless it is current.
#
# An editable install needs no reinstall for code changes, only when pyproject.toml
# (dependencies, entry points) changes: a stamp in .venv records the hash of the
# pyproject.toml it was installed from, per kind ("run": the package; "test": with its dev
# tools, which serves "run" too). A new .venv has no stamp, so it is always installed.
ensure_installed() {  # KIND SPEC, e.g. ensure_installed test '.[dev]'
  local kind="$1" spec="$2" python="${PYTHON:-python3}" key
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  key="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
  if [ -x .venv/bin/monitor ] && { grep -qx "$key" ".venv/.installed-$kind" 2>/dev/null \
      || { [ "$kind" = run ] && grep -qx "$key" .venv/.installed-test 2>/dev/null; }; }; then
    return 0
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
  echo "$key" > ".venv/.installed-$kind"
}
