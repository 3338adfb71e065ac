# The director agent (userspace engine). Build from the repository root:
#   docker build -f docker/agent.Dockerfile -t director-agent .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json biome.json ./
COPY packages ./packages
COPY apps ./apps
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@director/agent

FROM node:20-bookworm-slim
ENV NODE_ENV=production DIRECTOR_STATE_DIR=/var/lib/director
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/packages/model ./packages/model
COPY --from=build /src/packages/agent/package.json ./packages/agent/package.json
COPY --from=build /src/packages/agent/bin ./packages/agent/bin
COPY --from=build /src/packages/agent/dist ./packages/agent/dist
COPY --from=build /src/apps/console/package.json ./apps/console/package.json
RUN npm ci --omit=dev --no-audit --no-fund --workspace @director/agent \
 && useradd --system --uid 10001 --home /var/lib/director --create-home director \
 && mkdir -p /etc/director && chown director /var/lib/director
USER director
EXPOSE 8080 9443
# The control API answers 401 without a token: reachable and serving TLS is healthy.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD node -e "require('https').get({host:'127.0.0.1',port:9443,path:'/trpc/info',rejectUnauthorized:false},r=>process.exit(r.statusCode===401?0:1)).on('error',()=>process.exit(1))"
ENTRYPOINT ["node", "--max-semi-space-size=64", "/app/packages/agent/dist/director-agent.js"]
CMD ["--config", "/etc/director/director.yaml", "--state-dir", "/var/lib/director", "--api-listen", "0.0.0.0:9443"]
