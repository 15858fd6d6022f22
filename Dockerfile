# The hub (and, with the compose profile `sim`, the simulators): Node.js 20, TypeScript run by tsx, no build step.
#   docker build -t warmgrid .
#   docker run --env-file .env -v "$PWD/deploy/config:/config:ro" -v warmgrid-data:/data -p 8080:8080 warmgrid

FROM node:20-bookworm-slim AS deps
WORKDIR /app
# Compilers only as a fallback: the native modules (DuckDB, SQLite) normally install prebuilt binaries.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The dashboard, when the project has a build for it; then only what the hub runs on.
RUN npm run build --if-present && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app /app
RUN mkdir -p /data /config && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# GET /api/health: 200 while up or degraded, 503 when down.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/api/health').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
CMD ["npm", "run", "hub", "--", "--config", "/config"]
