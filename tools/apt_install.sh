#!/usr/bin/env bash
# apt_install.sh: installs the Debian packages named that are missing, without starting their services.
#   tools/apt_install.sh PKG[|ALT...]...
# An argument "a|b" is met by either package already installed, else the first apt-get can
# install. A package's postinst may not start its system service (nginx would take port 80):
# a policy-rc.d that says no is in place while apt-get runs, unless one was there already.
# Runs apt-get update once, first, only when something is missing. Exits non-zero, saying
# which, when a package cannot be installed.
set -euo pipefail

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
# first_ok CMD ARG: runs CMD on each of ARG's |-separated choices until one succeeds
first_ok() {
    local choices p
    IFS='|' read -r -a choices <<<"$2"
    for p in "${choices[@]}"; do "$1" "$p" && return 0; done
    return 1
}

missing=()
for arg in "$@"; do
    first_ok installed "$arg" || missing+=("$arg")
done
[ ${#missing[@]} -gt 0 ] || exit 0

command -v apt-get >/dev/null || {
    echo "apt_install.sh: missing ${missing[*]} and no apt-get to install them" >&2
    exit 1
}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
policy=/usr/sbin/policy-rc.d
policy_made=0
cleanup() { [ $policy_made = 0 ] || $sudo rm -f "$policy"; }
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    policy_made=1
fi

echo "apt_install.sh: installing ${missing[*]}" >&2
$sudo apt-get update -qq
# env inside sudo: sudo resets the environment, and apt must not stop to ask questions.
get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }

# One apt-get for the first choices; only if that fails, each argument's choices in turn, so
# the error names the package that cannot be had.
first=()
for arg in "${missing[@]}"; do first+=("${arg%%|*}"); done
get "${first[@]}" 2>/dev/null && exit 0
for arg in "${missing[@]}"; do
    first_ok get "$arg" || {
        echo "apt_install.sh: could not install any of: ${arg//|/ }" >&2
        exit 1
    }
done
