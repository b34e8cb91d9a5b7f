# syntax=docker/dockerfile:1
# clawkerd as PID 1 of an agent container. Build: docker build -t clawkerd .   (or podman build --format docker)
# The builder compiles TypeScript, bundles the daemon with its code cache and builds the native edge (node-gyp,
# against the image's own Node headers). The runtime stage carries only what the daemon loads: the bundle, its
# code cache, the native addon with its exec shim, undici (loaded on first use, outside the bundle) and the node
# binary, on plain Debian: no npm, no Node headers, no build tools, no devDependencies.
# scripts/container-test.sh builds this file and runs it as real containers.

ARG NODE_IMAGE=node:24-bookworm-slim
# The Debian release NODE_IMAGE is built on: the node binary is copied over as it is.
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/clawkerd
COPY package.json package-lock.json .npmrc ./
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs scripts/trainCodeCache.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM ${RUNTIME_IMAGE} AS runtime
# tini is not needed: clawkerd is the init. procps gives operators ps/kill inside the container.
# /var/run is a link to /run, so /run/clawker is also the ready file's directory: created once, 0700.
RUN apt-get update \
 && apt-get install -y --no-install-recommends procps \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1001 clawker \
 && useradd --uid 1001 --gid clawker --create-home --home-dir /home/clawker --shell /bin/bash clawker \
 && install -d -m 0700 -o root -g root /run/clawker /run/clawker/bootstrap \
 && install -d -m 0700 -o root -g root /var/lib/clawker \
 && install -d -m 0700 -o root -g root /var/log/clawker
COPY --from=builder /usr/local/bin/node /usr/local/bin/node
WORKDIR /opt/clawkerd
COPY --from=builder /opt/clawkerd/package.json ./package.json
COPY --from=builder /opt/clawkerd/dist/programs/bin.js /opt/clawkerd/dist/programs/guard.js \
  /opt/clawkerd/dist/programs/codeCache.js /opt/clawkerd/dist/programs/version.js \
  /opt/clawkerd/dist/programs/clawkerd.cjs /opt/clawkerd/dist/programs/clawkerd.cjs.v8cache ./dist/programs/
COPY --from=builder /opt/clawkerd/dist/platform/bootGuard.js /opt/clawkerd/dist/platform/signals.js ./dist/platform/
COPY --from=builder /opt/clawkerd/node_modules/undici ./node_modules/undici
COPY --from=builder /opt/clawkerd/native/package.json /opt/clawkerd/native/index.cjs ./node_modules/@clawkerd/native/
COPY --from=builder /opt/clawkerd/native/build/Release/clawkerd_native.node \
  /opt/clawkerd/native/build/Release/clawkerd-exec ./node_modules/@clawkerd/native/build/Release/
RUN ln -s /opt/clawkerd/dist/programs/bin.js /usr/local/bin/clawkerd \
 && chmod 0755 /opt/clawkerd/dist/programs/bin.js \
 && install -d -m 0755 -o clawker -g clawker /workspace
# The user CMD starts in the image's working directory, clawkerd's own: the agent's, as in the platform's images.
WORKDIR /workspace

EXPOSE 7700
STOPSIGNAL SIGTERM
# Healthy only when the ready file carries this PID 1's start time (clawkerd writes it once the user CMD
# runs): a file left by the container's previous run can never count, not even before clawkerd removed it.
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
  CMD ["sh", "-c", "test \"$(cat /var/run/clawker/ready 2>/dev/null)\" = \"$(sed 's/.*) //' /proc/1/stat | cut -d' ' -f20)\""]
# Runs as root on purpose: the daemon drops privileges only for the user CMD.
USER root
# node with PID 1's V8 flags (src/programs/nodeFlags.ts; V8 reads them only when the heap is created).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/usr/local/bin/clawkerd"]
CMD ["bash", "-l"]
