# syntax=docker/dockerfile:1
# Multi-stage: production dependencies only, no build step (Node runs the TypeScript directly).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    SWITCHYARD_CONFIG=/etc/switchyard/routes.config.ts
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# The default config; mount a ConfigMap over /etc/switchyard to replace it.
COPY routes.config.ts /etc/switchyard/routes.config.ts
USER node
EXPOSE 8080 9901
# exec form: node itself is PID 1, so SIGTERM reaches it and shutdown is graceful; flags: src/lifecycle/node-flags.ts
ENTRYPOINT ["node", "--expose-gc", "src/main.ts"]
CMD ["--config", "/etc/switchyard/routes.config.ts"]
