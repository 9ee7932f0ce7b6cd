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
target="${CARGO_TARGET_DIR:-target}"

if command -v cargo-deb >/dev/null; then
  cargo_deb=cargo-deb
else
  cargo_deb="$target/tools/cargo-deb/bin/cargo-deb"
  # Pinned: it warns that packaging a dev build will become an error.
  [ -x "$cargo_deb" ] || env -u CARGO_TARGET_DIR cargo install cargo-deb@3.8.0 --locked --quiet --root "$target/tools/cargo-deb"
fi
# dpkg-shlibdeps works out the package's library dependencies ($auto).
command -v dpkg-shlibdeps >/dev/null || { apt-get update -qq && apt-get install -y -qq dpkg-dev; }

cargo build -p click-tokio --bin click-agent --profile "$profile"
# Beside the program, where cargo-deb looks for built files (target/release/ in the metadata).
completions="$target/$out/completions"
mkdir -p "$completions"
"$target/$out/click-agent" completions bash > "$completions/click-agent.bash"
"$target/$out/click-agent" completions zsh > "$completions/_click-agent"
"$target/$out/click-agent" completions fish > "$completions/click-agent.fish"
"$cargo_deb" -p click-tokio --no-build --profile "$profile" --output "$target/debian/"
ls "$target"/debian/*.deb
