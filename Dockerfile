# One Dockerfile, one image per service:
#   docker build --build-arg SERVICE=ledger -t steward/ledger .
# The image keeps the repository layout (/app/services/<name>, /app/libs/*)
# so the commands are the same as on a workstation:
#   node services/$SERVICE/dist/main.js          (default CMD)
#   node libs/event-store/dist/migrate.cli.js    (migrations; any image whose
#                                                 service uses the event store)
ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------- build ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# pnpm at exactly the version in package.json#packageManager.
COPY package.json ./
RUN npm install -g --no-audit --no-fund \
      "$(node -p 'require("./package.json").packageManager.split("+")[0]')"
# Fetch from the lockfile alone, so this layer survives source changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile && pnpm build

# ---------------------------------------------------------------- prune ----
# Production dependencies of one service and the workspace libs it uses,
# nothing else (no other services, no dev tools).
FROM build AS prune
ARG SERVICE
RUN set -eu; \
    test -n "${SERVICE:-}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; }; \
    test -f "services/${SERVICE}/dist/main.js" || { echo "services/${SERVICE} is not built" >&2; exit 1; }; \
    find . -name node_modules -type d -prune -exec rm -rf {} +; \
    pnpm install --offline --frozen-lockfile --prod --filter "@steward/${SERVICE}..."; \
    mkdir -p /out; \
    cp -a package.json pnpm-workspace.yaml node_modules /out/; \
    for dir in $(pnpm --filter "@steward/${SERVICE}..." ls --depth -1 --parseable); do \
      rel="${dir#"$PWD"/}"; mkdir -p "/out/${rel}"; cp -a "${dir}/." "/out/${rel}/"; \
    done; \
    find /out -path /out/node_modules -prune -o \
      \( -name '*.spec.ts' -o -name '*.tsbuildinfo' -o -name 'tsconfig*.json' \) -type f -print0 \
      | xargs -0 rm -f

# -------------------------------------------------------------- runtime ----
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM (graceful drain) and reaps the child
# processes the executor's task pool spawns.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ARG SERVICE
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    SERVICE=${SERVICE}
WORKDIR /app
# Owned by root, read-only for the service user: the code cannot be altered
# at run time, and Kubernetes can mount the root filesystem read-only.
COPY --from=prune /out/ /app/
COPY infra/docker/healthcheck.js /usr/local/lib/steward/healthcheck.js
LABEL org.opencontainers.image.title="steward-${SERVICE}"
# Numeric uid of the image's `node` user, so runAsNonRoot can verify it.
USER 1000:1000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/usr/local/lib/steward/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Shell form only to expand $SERVICE; exec leaves node as tini's child.
CMD ["/bin/sh", "-c", "exec node \"services/${SERVICE}/dist/main.js\""]
