# An agent image as the platform's image builder makes them: any base with its own user, and clawkerd as one
# file (npm run build:binary → dist/clawkerd, in the build context). scripts/container-test.sh builds it on
# bare Debian and on Debian with Debian's own Node (APT_PACKAGES=nodejs) and runs its checks against both.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG APT_PACKAGES=""
RUN if [ -n "$APT_PACKAGES" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $APT_PACKAGES && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --gid 1001 clawker \
 && useradd --uid 1001 --gid clawker --create-home --home-dir /home/clawker --shell /bin/bash clawker
WORKDIR /home/clawker
# The two lines README "Use it in an agent image" gives.
COPY --chown=root:root --chmod=755 clawkerd /usr/local/bin/clawkerd
ENTRYPOINT ["/usr/local/bin/clawkerd"]
# Optional: health as the project's Dockerfile defines it (the same line; test/unit/dockerfile.test.ts).
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
  CMD ["sh", "-c", "test \"$(cat /var/run/clawker/ready 2>/dev/null)\" = \"$(sed 's/.*) //' /proc/1/stat | cut -d' ' -f20)\""]
CMD ["bash", "-l"]
