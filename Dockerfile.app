# The agent-preview webhook app: GitHub (/api/github/webhooks), Gitea/Forgejo (/api/gitea/webhooks),
# GET /healthz. Stateless: run as many replicas as you like behind a load balancer.
#   docker build -f Dockerfile.app -t agent-preview-app .
#   docker run -p 3000:3000 -e APP_ID -e PRIVATE_KEY -e WEBHOOK_SECRET -e SGP_API_KEY -e SGP_ACCOUNT_ID agent-preview-app
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3000 LOG_LEVEL=info
WORKDIR /app
# The bundle carries its dependencies; nothing else is installed.
COPY --from=build /src/dist/app ./dist/app
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/app/index.js"]
