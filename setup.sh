#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for demarc: apt packages, Deno (from npm), tracefs,
# then builds the BPF objects and the Java parts (Maven fetches its artifacts).
# Safe to run again. Needs root (apt, mounts).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(clang llvm libbpf-dev bpftool prometheus nftables iproute2 iperf3 wrk python3 maven openjdk-17-jdk-headless)
DENO_VERSION=2.9.6

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  apt-get update -qq
  # The prometheus package would start a server of its own where systemd runs; demarc's tests
  # start their own on other ports, so that does not matter.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v deno >/dev/null || ! deno --version | grep -q "^deno ${DENO_VERSION%%.*}\."; then
  echo "== npm install -g deno@${DENO_VERSION}"
  npm install -g --silent "deno@${DENO_VERSION}"
fi

if [ ! -d /sys/kernel/tracing/events ]; then
  echo "== mount tracefs"
  mount -t tracefs nodev /sys/kernel/tracing || echo "warning: could not mount tracefs; the tcp probe will say how to fix it" >&2
fi

echo "== deno cache (npm dependencies)"
deno cache --quiet main.ts tests/run_all.ts

echo "== deno task build"
deno task build
echo "setup done: run 'deno task start' for the agent, 'deno task test' for the tests"
