#!/usr/bin/env bash
# Installs the package packaging/deb/build.sh made, as a user would (apt, with its
# dependencies), and checks it: the files, the service's user and data folder, the agent
# started as the unit starts it (by systemd when it runs this machine, else by hand as the
# `click` user) answering and stopping cleanly, then remove (data and configuration kept)
# and purge (everything gone). Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=$(ls -t "${CARGO_TARGET_DIR:-target}"/debian/click-agent_*.deb | head -1)
port=29177
fail() { echo "package test: $*" >&2; exit 1; }

status() {  # GET /management/agent_status, over bash's /dev/tcp (no curl needed)
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /management/agent_status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}

case "$deb" in /*) ;; *) deb="./$deb" ;; esac
apt-get install -y -qq "$deb" >/dev/null
for f in /usr/bin/click-agent /etc/click/click.toml /usr/lib/systemd/system/click-agent.service \
         /usr/lib/systemd/user/click-agent.service \
         /usr/share/bash-completion/completions/click-agent /usr/share/doc/click-agent/README.md; do
  [ -e "$f" ] || fail "$f is not installed"
done
id click >/dev/null || fail "no click user"
[ "$(stat -c %U:%a /var/lib/click)" = click:700 ] || fail "/var/lib/click is not click's, 0700"
bash -c 'source /usr/share/bash-completion/completions/click-agent && complete -p click-agent' \
  >/dev/null || fail "the bash completion does not load"

if [ -d /run/systemd/system ]; then
  systemctl is-active --quiet click-agent || fail "the service is not running"
  port=29123
  for _ in $(seq 50); do status >/dev/null 2>&1 && break; sleep 0.2; done
  status | grep -q '^HTTP/1.1 200' || fail "the service does not answer"
  systemctl stop click-agent
else
  # No systemd here (a container): the unit's command, as its user.
  # setpriv execs the program itself (runuser would stand between it and the signal).
  setpriv --reuid=click --regid=click --init-groups -- \
    /usr/bin/click-agent serve --config /etc/click/click.toml \
    --listen "127.0.0.1:$port" 2>/tmp/click-agent-package.log &
  pid=$!
  for _ in $(seq 100); do status >/dev/null 2>&1 && break; sleep 0.2; done
  status | grep -q '^HTTP/1.1 200' || { cat /tmp/click-agent-package.log; fail "the agent does not answer"; }
  [ -n "$(ls -A /var/lib/click)" ] || fail "no data in /var/lib/click"
  kill -TERM "$pid"
  code=0; wait "$pid" || code=$?
  [ "$code" = 0 ] || { cat /tmp/click-agent-package.log; fail "the agent stopped with $code"; }
fi

apt-get remove -y -qq click-agent >/dev/null
[ ! -e /usr/bin/click-agent ] || fail "remove left the program"
[ -d /var/lib/click ] && [ -e /etc/click/click.toml ] || fail "remove took the data or the configuration"
apt-get purge -y -qq click-agent >/dev/null
[ ! -e /var/lib/click ] && [ ! -e /etc/click ] || fail "purge left data or configuration"
! id click >/dev/null 2>&1 || fail "purge left the click user"
echo "package test: installed, ran, stopped, removed and purged $(basename "$deb")"
