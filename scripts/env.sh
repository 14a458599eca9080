# Sourced by every script: one place for paths, pinned tool versions and shared helpers.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# e2e/node_modules/.bin: wasm-opt from npm's binaryen, which Trunk runs on release builds.
export PATH="$repo/e2e/node_modules/.bin:$HOME/.cargo/bin:/usr/sbin:$PATH"
# Build output lives outside the clone so a fresh clone reuses compiled dependencies; it is
# only a cache (cargo fingerprints every input), and everything works with it empty.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/thingsim/target}"
# 0.22 needs rustc >= 1.96.1; 0.21.14 is the last that builds on our 1.95.
TRUNK_VERSION=0.21.14

# The wasm-bindgen version Cargo.lock resolved: the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$repo/Cargo.lock"
}

# A free TCP port on 127.0.0.1 (the kernel picks; nothing else on this machine asks for it in
# the moment between our close and the broker's bind).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# N distinct free ports, one per line: the kernel may hand a just-freed port out again.
free_ports() {
  local n=$1 ports=() p
  while ((${#ports[@]} < n)); do
    p=$(free_port)
    [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
  done
  printf '%s\n' "${ports[@]}"
}

# Wait until 127.0.0.1:$1 accepts connections, at most $2 seconds.
wait_port() {
  local port=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    # A script that traps Ctrl-C into stop_requested (scripts/demo) stops waiting at once.
    [ "${stop_requested:-0}" = 1 ] && return 1
    sleep 0.1
  done
  return 1
}

# Release builds of the app (Trunk, and under it the fleet view's hook). With a nightly
# toolchain that has rust-src (scripts/setup adds it to a nightly it finds), std is rebuilt
# for size and a panic aborts without message or location: 12% less gzip than stable,
# measured on this app. Without one, stable builds it as it builds everything else. The
# variable replaces .cargo/config.toml's flags for wasm32, hence erase_components again.
release_env() {
  if rustup component list --toolchain nightly --installed 2>/dev/null | grep -qx rust-src; then
    export RUSTUP_TOOLCHAIN=nightly
    export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
    export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
    # SIMD (every browser since 2023) makes the module 1.7 % smaller gzipped: wider memory
    # and string operations in fewer instructions. LLVM inlines a little less than opt-level z
    # asks (threshold -5; a function called once is still inlined): `make sizes`' app total
    # 263,261 -> 261,214 B (0: 261,634; -10: 262,251; unordered, -25 was 1.6 % larger).
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Ctarget-feature=+simd128 -Cllvm-args=-inline-threshold=-5"
    release_toolchain="$(rustc +nightly --version), std rebuilt for size"
  else
    release_toolchain="$(rustc --version), stable std"
  fi
}
