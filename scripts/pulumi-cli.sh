#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy and Pulumi's Node.js language host from its
# source folder, for machines that cannot install Pulumi the usual way (no internet, but a Go
# toolchain and the proxy). With both in one directory, `pulumi preview|up|refresh|destroy` start
# the TypeScript program themselves, exactly as with a normal Pulumi install.
#
# Usage: scripts/pulumi-cli.sh [LANGUAGE_HOST_SRC]   builds (or reuses); prints the bin directory last
#        PATH="$(scripts/pulumi-cli.sh ../shared/pulumi-language-nodejs | tail -n1):$PATH" pulumi version
#
# LANGUAGE_HOST_SRC (or $ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC) is a folder holding Pulumi's own
# source of pulumi-language-nodejs at the same version and its build.sh OUT_DIR (the Go module
# proxy refuses that module: 403 for every version, measured 2026-11-30). Without it, a cached
# language host is reused; when there is none, the script fails and says where to get one.
#
# The result lives in $ARROWHEAD_PULUMI_CACHE (default /var/cache/arrowhead-pulumi) under the
# pinned version: pulumi, pulumi-language-nodejs and the dynamic-provider launcher that ships in
# the @pulumi/pulumi npm package (the engine looks for it beside `pulumi`). A second run finds it
# and returns in well under a second. Nothing here is committed.
#
# Facts (checked by building them here on 2026-11-30): pkg/v3 carries replace
# directives, so `go install pkg@version` is refused; a throwaway main module that requires the
# CLI builds it. The version string must be a real semver, or the language host and the engine
# refuse the CLI.
set -euo pipefail

PULUMI_VERSION="v3.248.0" # matches @pulumi/pulumi ~3.248.0 in package.json (Node 20 caps it)
CLI_MODULE="github.com/pulumi/pulumi/pkg/v3"
SDK_MODULE="github.com/pulumi/pulumi/sdk/v3"

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${ARROWHEAD_PULUMI_CACHE:-/var/cache/arrowhead-pulumi}/${PULUMI_VERSION}"
bin="$cache/bin"
launcher_src="$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
host_src="${1:-${ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC:-}}"

say() { echo "pulumi-cli: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}
if [ -n "$host_src" ]; then
  [ -d "$host_src" ] || fail "language host source folder $host_src does not exist"
  host_src="$(cd "$host_src" && pwd)" # absolute: the build below runs in another directory
fi

place_launcher() {
  [ -f "$launcher_src" ] || fail "the dynamic-provider launcher is missing at $launcher_src; run 'npm ci' first"
  # Rewritten only when it differs: other users of the same cache may be running it.
  cmp -s "$launcher_src" "$bin/pulumi-resource-pulumi-nodejs" ||
    install -m 0755 "$launcher_src" "$bin/pulumi-resource-pulumi-nodejs"
}

# The language host from its source folder, into $1 (a bin directory). Rebuilt when the folder's
# sources differ from what the cached binary was built from (a stamp of their sha256 beside it).
place_language_host() {
  local out="$1" want have=""
  if [ -z "$host_src" ]; then
    [ -x "$out/pulumi-language-nodejs" ] && return 0
    fail "no Node.js language host (pulumi-language-nodejs) in $out, and no source folder given.
  Pass Pulumi's source of it, e.g. scripts/pulumi-cli.sh ../shared/pulumi-language-nodejs
  (or set ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC), or install Pulumi the usual way
  (https://www.pulumi.com/docs/install/), which ships it beside pulumi."
  fi
  [ -x "$host_src/build.sh" ] || [ -f "$host_src/build.sh" ] ||
    fail "$host_src holds no build.sh: expected Pulumi's pulumi-language-nodejs source at $PULUMI_VERSION"
  want="$(cd "$host_src" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)"
  [ -f "$out/pulumi-language-nodejs.src-sha256" ] && have="$(cat "$out/pulumi-language-nodejs.src-sha256")"
  if [ -x "$out/pulumi-language-nodejs" ] && [ "$want" = "$have" ]; then return 0; fi
  say "building pulumi-language-nodejs from $host_src (seconds after the CLI build)"
  bash "$host_src/build.sh" "$out" >/dev/null ||
    fail "building the language host from $host_src failed (output above)"
  echo "$want" >"$out/pulumi-language-nodejs.src-sha256"
}

if [ -x "$bin/pulumi" ]; then
  place_language_host "$bin"
  place_launcher
  say "using the cached build in $bin ($("$bin/pulumi" version), with pulumi-language-nodejs)"
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
# pkg and sdk must agree (the language host is built against the same v3.248.0 modules).
for m in "$CLI_MODULE" "$SDK_MODULE"; do
  got="$(go list -m -f '{{.Version}}' "$m")"
  [ "$got" = "$PULUMI_VERSION" ] || fail "$m resolved to $got, not $PULUMI_VERSION"
done

flags=(-trimpath -tags osusergo,grpcnotrace
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION")
mkdir -p "$bin.partial"
say "building pulumi $PULUMI_VERSION (measured cold on two cores: 4-6 min)"
CGO_ENABLED=0 go build "${flags[@]}" -o "$bin.partial/pulumi" "$CLI_MODULE/cmd/pulumi" ||
  fail "building $CLI_MODULE/cmd/pulumi@$PULUMI_VERSION failed (output above)"
place_language_host "$bin.partial"
rm -rf "$bin"
mv "$bin.partial" "$bin" # whole or nothing: a killed build leaves no half cache behind
place_launcher
say "built $("$bin/pulumi" version) and pulumi-language-nodejs into $bin"
echo "$bin"
