# An agent image laid out as the platform's bundler lays one out (its golden minimal.base and harness
# Dockerfiles; README "Container test"), around the drop-in file (dist/clawkerd, in the build context with
# scripts/container-agent.sh as `agent`): scripts/container-test.sh builds it on bare Debian and runs its checks
# the way the platform runs it (a TTY, the bootstrap copied in before start, the image's own CMD).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG USERNAME=clawker
# The bundler's package floor starts with the TLS trust its ENV below points at (SSL_CERT_FILE, and the
# system CA store NODE_USE_SYSTEM_CA makes every Node load, clawkerd's included).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
RUN (groupadd --gid 1001 ${USERNAME} 2>/dev/null || groupadd ${USERNAME}) \
 && useradd --uid 1001 --gid ${USERNAME} --shell /bin/bash --create-home ${USERNAME}
# Through Debian's /var/run -> /run link the chown makes /run/clawker itself the agent user's: the ready file's
# directory, and the parent of the bootstrap directory the CLI copies in (0700, root's).
RUN mkdir -p /home/${USERNAME}/.clawker /home/${USERNAME}/.local/bin /workspace /run/clawker /var/log/clawker \
      /var/run/clawker \
 && chown -R ${USERNAME}:${USERNAME} /workspace /home/${USERNAME}/.clawker /home/${USERNAME}/.local /var/run/clawker
WORKDIR /workspace
USER ${USERNAME}
ENV CLAWKER_USER=${USERNAME}
ENV HOME=/home/${USERNAME}
ENV PATH=${HOME}/.local/bin:$PATH
ENV TERM=xterm-256color
ENV LANG=C.UTF-8
# The agent CLI where the harness installers put it; the image's CMD names it.
COPY --chown=${USERNAME}:${USERNAME} --chmod=755 agent /home/${USERNAME}/.local/bin/agent
# What the stacks and the harness set for the agent, not for clawkerd (test/support/imageEnv.ts).
ENV NODE_USE_SYSTEM_CA=1
ENV UV_PYTHON_INSTALL_DIR=/usr/local/share/uv/python
ENV NODE_OPTIONS=--max-old-space-size=1024
ENV OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
ENV OTEL_METRICS_EXPORTER=otlp
ENV OTEL_LOGS_EXPORTER=otlp
ENV OTEL_TRACES_EXPORTER=otlp
ENV OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD test -f /var/run/clawker/ready || exit 1
USER root
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
COPY --chown=root:root --chmod=755 clawkerd /usr/local/bin/clawkerd
ENTRYPOINT ["/usr/local/bin/clawkerd"]
CMD ["agent"]
