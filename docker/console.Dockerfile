# The console (Graphic Monitor): HTTPS only, on 8443. Build from the repository root:
#   docker build -f docker/console.Dockerfile -t director-console .
# State (SQLite store, self-signed certificate, session secret) lives in /var/lib/director-console: mount a volume.
# PostgreSQL instead of SQLite: set DATABASE_URL=postgres://…
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source on Node 20.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json biome.json ./
COPY packages ./packages
COPY apps ./apps
RUN npm install --no-audit --no-fund && npx turbo run build --filter=@director/console && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production CONSOLE_STATE_DIR=/var/lib/director-console HOST=0.0.0.0 PORT=8443
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/apps/console ./apps/console
# Same uid as the agent image (10001): in the compose demo the console reads the agent's token (mode 0600) from
# the agent's state volume, mounted read-only.
RUN useradd --system --uid 10001 --home /var/lib/director-console --create-home director-console
USER director-console
EXPOSE 8443
# Any TLS answer from the console (the sign-in redirect) is healthy; plain HTTP is never served.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD node -e "require('https').get({host:'127.0.0.1',port:8443,path:'/signin',rejectUnauthorized:false},r=>process.exit(r.statusCode<500?0:1)).on('error',()=>process.exit(1))"
WORKDIR /app/apps/console
ENTRYPOINT ["node", "server.mjs"]
