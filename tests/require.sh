# Sourced by the test scripts: makes sure a command they need is there.
#   require COMMAND [PACKAGE...]   (the packages default to the command's name)
# When COMMAND (a name on PATH, or a path) is missing, installs the operating system's PACKAGEs
# with `apt-get install -y` when running as root; otherwise stops the script at once, naming
# the one command to run. The test harness does the same (tests/src/tools.rs, os_package).

require() {
  local command=$1
  shift
  local packages=("${@:-$command}")
  _require_found "$command" && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$command is missing: run \`sudo apt-get install -y ${packages[*]}\`" >&2
    exit 1
  fi
  echo "$command is missing: installing ${packages[*]} (once): apt-get install -y ${packages[*]}" >&2
  local apt=(apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${packages[@]}")
  # A fresh machine has no package lists yet: update them when the install fails.
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null; } || {
    echo "\`apt-get install -y ${packages[*]}\` failed" >&2
    exit 1
  }
  _require_found "$command" || {
    echo "$command is still missing after \`apt-get install -y ${packages[*]}\`" >&2
    exit 1
  }
}

_require_found() {
  case $1 in
    */*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
