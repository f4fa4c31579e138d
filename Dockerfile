# syntax=docker/dockerfile:1
#
# secure-auth production image.
#
#   docker build -t secure-auth .
#   docker run --rm --env-file prod.env secure-auth node dist/server/cli/migrate.js   # release job
#   docker run -d -p 3000:3000 --env-file prod.env secure-auth                        # service
#
# Configuration comes only from the environment at run time (docs/runbook.md):
# no secret, .env file or key is copied into any layer (see .dockerignore).
# tests/ops/production-start.test.ts runs this file's build, migrate and start
# commands outside Docker against a fresh database.

ARG NODE_IMAGE=node:24-slim

# --- build: full dependency tree, compile TypeScript to dist/ -----------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Manifests first: the dependency layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
COPY client/package.json client/
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY shared shared
COPY server server
COPY otel otel
COPY migrations migrations
COPY client client
RUN npm run build

# --- deps: production dependencies only ----------------------------------------
# --omit=optional drops the platform binaries that only development needs
# (embedded-postgres's PostgreSQL, esbuild for tsx); the service never loads
# them in production (no embedded database, compiled JavaScript).
# --ignore-scripts: no install script runs in the runtime tree.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY client/package.json client/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --omit=optional --ignore-scripts

# --- runtime ---------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Code and dependencies belong to root and are read-only for the service
# user: a compromised process cannot rewrite the application.
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/package.json package.json
COPY --from=build /app/dist dist
USER node
EXPOSE 3000
# /health does a real database round trip (503 when it fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same command as `npm run start:prod`: telemetry is loaded before the app.
# node is PID 1 and handles SIGTERM itself (drain, flush, close; exit 0).
CMD ["node", "--import", "./dist/otel/register.js", "dist/server/main.js"]
