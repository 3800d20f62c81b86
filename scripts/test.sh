#!/usr/bin/env bash
# Full check of voipkit: installs the SIP peers the interop tests start (Debian packages, when run as
# root), then go vet, gofmt, staticcheck, a cgo-free build and the whole test suite with -race.
# Extra arguments are passed to `go test`, e.g.: scripts/test.sh -run Interop -v
# CI is left as the caller set it: with CI=true a missing peer fails its test instead of skipping it.
set -euo pipefail

cd "$(dirname "$0")/.."

# Go from the official tarball, and the sbin directories (kamailio, kamcmd) for non-root users.
for dir in /usr/local/go/bin /usr/sbin /sbin; do
	if [ -d "$dir" ] && [[ ":$PATH:" != *":$dir:"* ]]; then
		PATH="$PATH:$dir"
	fi
done
export PATH
if ! command -v go >/dev/null 2>&1; then
	echo "test.sh: go not found (looked in PATH and /usr/local/go/bin)" >&2
	exit 1
fi

# --- peers ------------------------------------------------------------------------------------------
packages=(kamailio kamailio-presence-modules kamailio-tls-modules baresip-core sip-tester tshark sox openssl
	libopus-dev libopusfile-dev pkg-config)
missing=()
for bin in kamailio kamcmd baresip sipp tshark sox; do
	command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
# Kamailio's presence and TLS modules come in packages of their own.
for mod in presence.so tls.so; do
	if ! compgen -G "/usr/lib/*/kamailio/modules/$mod" >/dev/null && ! compgen -G "/usr/lib/kamailio/modules/$mod" >/dev/null; then
		missing+=("kamailio module $mod")
	fi
done
# codec/opus builds against libopus and libopusfile through pkg-config.
if ! command -v pkg-config >/dev/null 2>&1; then
	missing+=("pkg-config")
elif ! pkg-config --exists opus opusfile; then
	missing+=("libopus-dev/libopusfile-dev (pkg-config opus opusfile)")
fi
# go test -race needs a C toolchain.
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
	missing+=("cc (for -race)")
	packages+=(gcc libc6-dev)
fi

if [ ${#missing[@]} -gt 0 ]; then
	install_cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages[*]}"
	echo "test.sh: missing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "test.sh: not root; install them with:" >&2
		echo "  sudo apt-get update && sudo $install_cmd" >&2
		exit 1
	fi
	if ! apt-get update; then
		echo "test.sh: apt-get update failed, retrying once" >&2
		sleep 5
		apt-get update
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
fi

# --- checks -----------------------------------------------------------------------------------------
echo "== go vet"
go vet ./...

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "test.sh: files not formatted with gofmt:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== build (CGO_ENABLED=0)"
CGO_ENABLED=0 go build ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./... "$@"
