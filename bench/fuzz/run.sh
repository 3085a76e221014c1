#!/usr/bin/env bash
# Fuzzes the agent's network parsers and the CLI's file loaders with AFL++ through SharpFuzz, for a bounded time per target.
#   bash bench/fuzz/run.sh [--seconds 120] [tcp-hello udp-header http control-json scenario prices]
# Installs afl++ (Debian) and the SharpFuzz instrumenter (a .NET tool, into bench/fuzz/out/tools) when missing.
# Prints per target: executions, paths found, crashes; crashing inputs stay in bench/fuzz/out/findings/TARGET/crashes.
set -euo pipefail
cd "$(dirname "$0")"
seconds=120
if [ "${1:-}" = "--seconds" ]; then seconds=$2; shift 2; fi
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(tcp-hello udp-header http control-json scenario prices)
out=$PWD/out
mkdir -p "$out"

command -v afl-fuzz >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null; }
[ -x "$out/tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --tool-path "$out/tools" >/dev/null

rm -rf "$out/bin"
dotnet publish CniBench.Fuzz -c Release -o "$out/bin" -nologo -v quiet
# Instrument the code under test (the agent, the contracts, the CLI and its YAML parser; not the harness, not the
# framework).
for dll in cnibench-agent.dll CniBench.Contracts.dll cnibench.dll YamlDotNet.dll; do "$out/tools/sharpfuzz" "$out/bin/$dll" >/dev/null; done

seeds=$out/seeds
mkdir -p "$seeds"/{tcp-hello,udp-header,http,control-json,scenario,prices}
printf 'CNB1\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00' > "$seeds/tcp-hello/rr"
printf 'CNB1\x01\x00\x00\x00\xfb\xff\xff\xff\xfb\xff\xff\xff' > "$seeds/tcp-hello/negative-sink"
printf 'CNU1\x02\x40\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00' > "$seeds/udp-header/echo"
printf 'GET /echo?size=64 HTTP/1.1\r\nHost: a\r\n\r\n' > "$seeds/http/get"
printf 'POST /v1/jobs HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nabcde' > "$seeds/http/two-lengths"
printf '{"workload":{"kind":"probe","rate":"NaN","target":"127.0.0.1:1"},"warmupMs":0,"durationMs":1000}' > "$seeds/control-json/nan"
printf 'name: s\nrepetitions: 2\ncases:\n  - workload: tcp-rr\n    parallel: &p [1, 4]\n    requestSize: *p\n' > "$seeds/scenario/alias"
printf 'name: s\ncases:\n  - {workload: http, model: open, rate: 100, responseSize: [1, 16KiB]}\n' > "$seeds/scenario/flow"
printf 'currency: EUR\ncrossZonePerGb: 0.01\ninternetPerGb: 0.09\n' > "$seeds/prices/plain"

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1
for t in "${targets[@]}"; do
  rm -rf "$out/findings/$t"; mkdir -p "$out/findings"
  timeout $((seconds + 30)) afl-fuzz -i "$seeds/$t" -o "$out/findings/$t" -t 5000 -m none -V "$seconds" -- dotnet "$out/bin/cnibench-fuzz.dll" "$t" >"$out/$t.log" 2>&1 || true
  stats=$(find "$out/findings/$t" -name fuzzer_stats | head -n 1)
  if [ -z "$stats" ]; then echo "$t: afl-fuzz did not start (see $out/$t.log)"; continue; fi
  execs=$(awk -F: '/^execs_done/ {gsub(/ /,"",$2); print $2}' "$stats")
  paths=$(awk -F: '/^corpus_count|^paths_total/ {gsub(/ /,"",$2); print $2; exit}' "$stats")
  crashes=$(find "$(dirname "$stats")/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  echo "$t: ${seconds}s, $execs executions, $paths paths, $crashes crashes"
done
