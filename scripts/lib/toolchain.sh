# Shared by scripts/up and scripts/test: make sure the build tools exist (installing only what is
# missing), and find a free loopback port. Sourced, not run.

ensure_toolchain() {
    if ! command -v cargo >/dev/null 2>&1; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            echo "[setup] installing Rust from Debian packages (cargo, rustc)" >&2
            apt-get update -qq && apt-get install -y -qq cargo rustc >/dev/null
        fi
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "[setup] installing Node.js from Debian packages" >&2
        apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
    fi
    if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
        echo "[setup] installing Java 17 and Maven from Debian packages" >&2
        apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
    fi
}

# Installs the peer's npm dependencies (the @neo4j/graphql oracle) when missing or stale.
# ensure_node_deps DIR: npm ci in DIR when its node_modules is missing or older than the lock file.
ensure_node_deps() {
    local dir="$1"
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "[setup] npm ci in ${dir#"$ROOT"/}" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

ensure_peer_deps() { ensure_node_deps "$1/tests/peer"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
    local url="$1" deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
