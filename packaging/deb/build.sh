#!/usr/bin/env bash
# Builds the Debian package with `cargo deb` (metadata in adapters/tokio/Cargo.toml):
# target/debian/click-agent_<version>-1_<arch>.deb, from a release build, or with --dev from
# the debug build (what CI installs and tests: it is built already). cargo-deb is installed
# into target/tools/cargo-deb the first time, unless it is on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=release
[ "${1:-}" = --dev ] && profile=dev
out=$([ "$profile" = dev ] && echo debug || echo release)

if command -v cargo-deb >/dev/null; then
  cargo_deb=cargo-deb
else
  cargo_deb=target/tools/cargo-deb/bin/cargo-deb
  [ -x "$cargo_deb" ] || cargo install cargo-deb --locked --quiet --root target/tools/cargo-deb
fi
# dpkg-shlibdeps works out the package's library dependencies ($auto).
command -v dpkg-shlibdeps >/dev/null || { apt-get update -qq && apt-get install -y -qq dpkg-dev; }

cargo build -p click-tokio --bin click-agent --profile "$profile"
mkdir -p target/completions
bin="target/$out/click-agent"
"$bin" completions bash > target/completions/click-agent.bash
"$bin" completions zsh > target/completions/_click-agent
"$bin" completions fish > target/completions/click-agent.fish
"$cargo_deb" -p click-tokio --no-build --profile "$profile" --output target/debian/
ls target/debian/*.deb
