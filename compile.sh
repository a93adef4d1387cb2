#!/usr/bin/env bash
# Builds one executable, build/demarc, with the probes, meta tables, BPF objects and jars embedded.
# deno compile links against `denort`, which it normally downloads; where that is impossible,
# point DENORT_BIN at a denort binary of the same Deno version. Without one this script does
# every step up to the link and stops with exit code 3 and a message saying so.
set -euo pipefail
cd "$(dirname "$0")"

out=${1:-build/demarc}
deno task build
deno check main.ts
for f in build/bpf build/java/demarc-agent.jar build/java/demarc-attach.jar probes meta; do
  [ -e "$f" ] || { echo "compile.sh: $f is missing after the build" >&2; exit 1; }
done
includes=(--include probes --include meta --include build/bpf --include build/java/demarc-agent.jar --include build/java/demarc-attach.jar)

if [ -z "${DENORT_BIN:-}" ]; then
  cached=$(ls "${DENO_DIR:-$HOME/.cache/deno}"/dl/release/v"$(deno --version | head -1 | cut -d' ' -f2)"/denort-* 2>/dev/null | head -1 || true)
  if [ -z "$cached" ]; then
    echo "compile.sh: built and checked everything; the link step needs denort, which cannot be downloaded here." >&2
    echo "compile.sh: set DENORT_BIN=/path/to/denort (Deno $(deno --version | head -1 | cut -d' ' -f2), x86_64-unknown-linux-gnu) and run again." >&2
    exit 3
  fi
fi
# The V8 flags of deno.json's start task (a young generation of 1 MB semi-spaces, memory-saver mode's
# smaller old-generation growth between GCs: less RSS, figures in README.md from
# bench/tcp_runner_bench.ts) are baked into the executable so it runs the shipped way,
# and so is --no-code-cache (the code cache is a file mapped into the process: ~3 MB more RSS). The
# malloc variables of the start task cannot be baked in: deploy/demarc.service sets them.
start=$(grep -o '"start": "[^"]*"' deno.json)
v8flags=$(grep -o -- '--v8-flags=[^ "]*' <<<"$start" | head -1)
[ -n "$v8flags" ] || { echo "compile.sh: no --v8-flags in deno.json's start task" >&2; exit 1; }
denoflags=("$v8flags")
if grep -q -- '--no-code-cache' <<<"$start"; then denoflags+=(--no-code-cache); fi
deno compile --allow-all --unstable-kv "${denoflags[@]}" "${includes[@]}" --output "$out" main.ts
echo "compile.sh: wrote $out"
