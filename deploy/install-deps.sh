#!/usr/bin/env bash
#  Installs the Debian packages rhannu needs to build and test, and nothing else.
#  Idempotent: installs only what is missing. With --check, installs nothing and exits 1 if
#  anything is missing (make uses that to decide whether to run this script).
set -euo pipefail

packages=(
    build-essential         # gcc, make
    pkg-config
    libzmq3-dev             # ZeroMQ transport with CURVE (pulls libsodium-dev)
    libsodium-dev           # Ed25519 sign/verify on the hot path, SHA-256 commitments
    libprotobuf-c-dev       # wire schema runtime
    protobuf-c-compiler     # protoc-c generates the C code at build time
    libssl-dev              # X.509, CRLs, PEM keys
    openssl                 # stock tool the PKI tests check our files with
    libleveldb-dev          # durable queues and logs
    libjansson-dev          # JSON spool files
    libyaml-dev             # configuration files (and agreements)
    libmicrohttpd-dev       # rhannu-witness, and the broker's and agent's metrics and health
    libsystemd-dev          # sd_notify: READY, STATUS and WATCHDOG for Type=notify units
    libcurl4-openssl-dev    # rhannu-broker: submits checkpoints to witnesses
    libcunit1-dev           # unit tests
    clang                   # libFuzzer harnesses (make fuzz)
    libclang-rt-14-dev      # sanitizer and fuzzer runtimes for clang
    clang-format            # make format
    chromium                # the report test renders the HTML report headless (no downloads)
    stress-ng               # make check-contention: the crash test on a fully busy machine
    groff-base              # test_man: the man pages are checked with groff and man
    man-db                  # test_man: man --warnings
    resource-agents         # ocf-tester and the OCF shell functions: test_ocf checks deploy/ha's agent
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done

if [ "${1:-}" = "--check" ]; then
    if [ ${#missing[@]} -gt 0 ]; then
        echo "missing packages: ${missing[*]}"
        exit 1
    fi
    exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

#  apt-get's progress goes to a log file: one line on screen, the log's path if it fails.
log=${INSTALL_DEPS_LOG:-$(cd "$(dirname "$0")/.." && pwd)/build/install-deps.log}
mkdir -p "$(dirname "$log")"
echo "install-deps: installing ${#missing[@]} packages (${missing[*]}); log: $log"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } > "$log" 2>&1; then
    echo "install-deps: apt-get failed; its output is in $log" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
echo "install-deps: installed ${#missing[@]} packages"
