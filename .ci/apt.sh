# Sourced by the .ci scripts. `apt_ensure COMMAND:PACKAGE ...` installs, from Debian's packages, each PACKAGE
# whose COMMAND is not on PATH (one apt-get update for all of them; sudo when not root).
apt_ensure() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
