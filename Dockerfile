# syntax=docker/dockerfile:1
# Multi-stage: production dependencies only, no build step (Node runs the TypeScript directly).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim
# MALLOC_ARENA_MAX: the C library settings the gateway ships with (src/lifecycle/node-flags.ts, C_LIBRARY_ENV)
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=1 \
    SWITCHYARD_CONFIG=/etc/switchyard/routes.config.ts
WORKDIR /app
# Copied as root and left root-owned: the process can read its code but never rewrite it.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# the prebuilt bundle (src/cli/prebuilt.ts): one module to load at start instead of ~560 sources; main.ts runs
# it while every file it was built from is unchanged, which in an image is always
RUN node src/cli/build.ts
# The default config; mount a ConfigMap over /etc/switchyard to replace it.
COPY routes.config.ts /etc/switchyard/routes.config.ts
# Node's compile cache, filled here by one start of the gateway as the entrypoint runs it: every container then reads
# main.ts and the bundle already stripped and never loads Node's TypeScript stripper (~27 MiB), where a cache in the
# pod's empty /tmp would be cold at every new pod. A warm cache needs no writes (the Kubernetes Deployment mounts the
# root filesystem read-only). Node keeps one cache per uid, so it is filled as the uid the container runs as (a
# container run as another uid starts cold).
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN mkdir /app/.compile-cache && chown 1000:1000 /app/.compile-cache
# Numeric (uid 1000 is the image's `node` user) so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 1000:1000
# The start is stopped once its listening line is out (the cache is written right after it), not after a fixed
# sleep a slow builder may not finish start-up in; the build fails if the gateway never listens (within
# COMPILE_CACHE_FILL_TIMEOUT_S), does not exit 0 on SIGTERM, or leaves no cache file (Node makes the cache's
# per-version directory at once, so an empty directory tree proves nothing).
ARG COMPILE_CACHE_FILL_TIMEOUT_S=120
RUN log=$(mktemp); \
    node --max-semi-space-size=8 --heap-growing-percent=50 --min-semi-space-size=8 --disable-sigusr1 src/start.mjs --config /etc/switchyard/routes.config.ts > $log 2>&1 & \
    pid=$!; waited=0; \
    until grep -q 'switchyard listening on' $log; do \
      if ! kill -0 $pid 2>/dev/null; then wait $pid; echo "compile cache: the gateway exited ($?) before listening:"; cat $log; exit 1; fi; \
      if [ $waited -ge $((COMPILE_CACHE_FILL_TIMEOUT_S * 10)) ]; then echo "compile cache: the gateway did not listen within ${COMPILE_CACHE_FILL_TIMEOUT_S} s:"; cat $log; kill -KILL $pid; exit 1; fi; \
      sleep 0.1; waited=$((waited + 1)); \
    done; \
    kill -TERM $pid; wait $pid; exited=$?; \
    if [ $exited -ne 0 ]; then echo "compile cache: the gateway exited $exited on SIGTERM:"; cat $log; exit 1; fi; \
    rm $log; \
    if [ -z "$(find "$NODE_COMPILE_CACHE" -type f)" ]; then echo "compile cache: no file in $NODE_COMPILE_CACHE"; exit 1; fi
# 8080: the public listener (server.port); 9901: the admin listener (admin.port: /healthz, /readyz, /metrics).
EXPOSE 8080 9901
# The slim image has no curl: node's own fetch. Its 2 s timeout leaves Docker's 5 s room for node's own start-up,
# so a hung admin listener is reported as exit 1, not as a killed probe.
# It assumes admin.port 9901 on a loopback or wildcard admin.host (the default config's is 127.0.0.1).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/healthz', { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# exec form: node itself is PID 1, so SIGTERM reaches it and shutdown is graceful; flags: src/lifecycle/node-flags.ts;
# src/start.mjs runs src/main.ts without loading Node's TypeScript stripper (see that file)
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "--min-semi-space-size=8", "--disable-sigusr1", "src/start.mjs"]
CMD ["--config", "/etc/switchyard/routes.config.ts"]
