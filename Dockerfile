# syntax=docker/dockerfile:1
# clawkerd as PID 1 of an agent container. Build: docker build -t clawkerd .
# The builder compiles TypeScript and the native edge (node-gyp, against the image's own Node headers);
# the runtime stage carries only what the daemon runs.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/clawkerd
# The official image installs Node under /usr/local; .npmrc's nodedir=/usr is for Debian's Node.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json .npmrc ./
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/bundle.mjs
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev \
 && rm -rf native/build/Release/obj.target native/build/Release/.deps

FROM ${NODE_IMAGE} AS runtime
# tini is not needed: clawkerd is the init. procps gives operators ps/kill inside the container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends procps ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1001 clawker \
 && useradd --uid 1001 --gid clawker --create-home --home-dir /home/clawker --shell /bin/bash clawker \
 && install -d -m 0700 -o root -g root /run/clawker /run/clawker/bootstrap \
 && install -d -m 0755 -o root -g root /var/run/clawker \
 && install -d -m 0700 -o root -g root /var/lib/clawker \
 && install -d -m 0750 -o root -g root /var/log/clawker
WORKDIR /opt/clawkerd
COPY --from=builder /opt/clawkerd/package.json ./package.json
COPY --from=builder /opt/clawkerd/node_modules ./node_modules
COPY --from=builder /opt/clawkerd/native ./native
COPY --from=builder /opt/clawkerd/dist ./dist
RUN ln -s /opt/clawkerd/dist/programs/bin.js /usr/local/bin/clawkerd \
 && chmod 0755 /opt/clawkerd/dist/programs/bin.js

ENV NODE_ENV=production
EXPOSE 7700
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
  CMD ["test", "-f", "/var/run/clawker/ready"]
# Runs as root on purpose: the daemon drops privileges only for the user CMD.
USER root
ENTRYPOINT ["clawkerd"]
CMD ["bash", "-l"]
