#!/usr/bin/env bash
# Builds the Pulumi CLI and its Node.js language host from the Go module proxy, for machines
# that cannot install Pulumi the usual way (no internet, but a Go toolchain and the proxy).
#
# Usage: scripts/pulumi-cli.sh            builds (or reuses) and prints the bin directory last
#        PATH="$(scripts/pulumi-cli.sh | tail -n1):$PATH" pulumi version
#
# The result lives in $ARROWHEAD_PULUMI_CACHE (default /var/cache/arrowhead-pulumi) under the
# pinned version: pulumi, pulumi-language-nodejs and the dynamic-provider launcher that ships in
# the @pulumi/pulumi npm package (the engine looks for it beside `pulumi`). A second run finds it
# and returns in well under a second. Nothing here is committed.
#
# Facts (checked by building them here on 2026-11-30): pkg/v3 carries replace
# directives, so `go install pkg@version` is refused; a throwaway main module that requires both
# tools builds them. The language host has no tags of its own: the pseudo-version below is the
# commit of tag pkg/v3.248.0. The version string must be a real semver, or the language host and
# the Automation API refuse the CLI.
set -euo pipefail

PULUMI_VERSION="v3.248.0" # matches @pulumi/pulumi ~3.248.0 in package.json (Node 20 caps it)
LANGUAGE_HOST_VERSION="v3.0.0-20260624180030-dc7edd58bc13" # commit of tag pkg/v3.248.0
CLI_MODULE="github.com/pulumi/pulumi/pkg/v3"
SDK_MODULE="github.com/pulumi/pulumi/sdk/v3"
LANGUAGE_HOST_MODULE="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${ARROWHEAD_PULUMI_CACHE:-/var/cache/arrowhead-pulumi}/${PULUMI_VERSION}"
bin="$cache/bin"
launcher_src="$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"

say() { echo "pulumi-cli: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

place_launcher() {
  [ -f "$launcher_src" ] || fail "the dynamic-provider launcher is missing at $launcher_src; run 'npm ci' first"
  # Rewritten only when it differs: other users of the same cache may be running it.
  cmp -s "$launcher_src" "$bin/pulumi-resource-pulumi-nodejs" ||
    install -m 0755 "$launcher_src" "$bin/pulumi-resource-pulumi-nodejs"
}

if [ -x "$bin/pulumi" ]; then
  place_launcher
  say "using the cached build in $bin ($("$bin/pulumi" version))"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || fail "no Go toolchain on PATH: install Go 1.22+ (or install Pulumi the usual way, https://www.pulumi.com/docs/install/)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init arrowhead.local/pulumi-build >/dev/null 2>&1

fetch() { # module@version, what it is
  say "fetching $2 ($1) from the Go module proxy (a cold module cache downloads several hundred MB)"
  if ! go get "$1" >"$work/get.log" 2>&1; then
    sed 's/^/  /' "$work/get.log" >&2
    fail "could not get $1 from the Go module proxy ($(go env GOPROXY)); is the proxy reachable and does it serve that version?"
  fi
}
# The package, not just the module: go.sum then holds every module the build needs.
fetch "$CLI_MODULE/cmd/pulumi@$PULUMI_VERSION" "the Pulumi CLI"
fetch "$SDK_MODULE@$PULUMI_VERSION" "the Pulumi Go SDK"
# The language host is optional here: without it `pulumi preview/up` cannot start a TypeScript
# program from the CLI, and scripts/pulumi.ts runs the same project through the Automation API
# (its in-process language server). Measured 2026-11-30: the proxy refuses this module (403).
language_host=yes
say "fetching the Node.js language host ($LANGUAGE_HOST_MODULE@$LANGUAGE_HOST_VERSION)"
if ! go get "$LANGUAGE_HOST_MODULE@$LANGUAGE_HOST_VERSION" >"$work/get.log" 2>&1; then
  language_host=no
  sed 's/^/  /' "$work/get.log" | head -n 3 >&2
  say "warning: the Go module proxy does not serve $LANGUAGE_HOST_MODULE@$LANGUAGE_HOST_VERSION;"
  say "  building pulumi alone. Run preview/up through 'npm run pulumi -- <command>' (Automation API)"
fi

# The CLI and the language host must agree on the SDK: one build, one version.
for m in "$CLI_MODULE" "$SDK_MODULE"; do
  got="$(go list -m -f '{{.Version}}' "$m")"
  [ "$got" = "$PULUMI_VERSION" ] || fail "$m resolved to $got, not $PULUMI_VERSION (the language host pulled it up); pin a matching language-host commit"
done

flags=(-trimpath -tags osusergo,grpcnotrace
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION")
mkdir -p "$bin.partial"
say "building pulumi $PULUMI_VERSION (measured cold on two cores: 4-6 min)"
CGO_ENABLED=0 go build "${flags[@]}" -o "$bin.partial/pulumi" "$CLI_MODULE/cmd/pulumi" ||
  fail "building $CLI_MODULE/cmd/pulumi@$PULUMI_VERSION failed (output above)"
if [ "$language_host" = yes ]; then
  say "building pulumi-language-nodejs ($LANGUAGE_HOST_VERSION)"
  CGO_ENABLED=0 go build "${flags[@]}" -o "$bin.partial/pulumi-language-nodejs" "$LANGUAGE_HOST_MODULE" ||
    fail "building $LANGUAGE_HOST_MODULE@$LANGUAGE_HOST_VERSION failed (output above)"
fi
rm -rf "$bin"
mv "$bin.partial" "$bin" # whole or nothing: a killed build leaves no half cache behind
place_launcher
say "built $("$bin/pulumi" version) into $bin"
echo "$bin"
