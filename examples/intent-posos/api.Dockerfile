# syntax=docker/dockerfile:1
# The posos intent API: `kiln serve` of intent-posos@champion on port 4002. POST /intent with
# {"question": "..."} or {"questions": [...]}, a page to try it at /, the generic
# /v1/models/intent-posos/predict, /readyz, /metrics and /docs.
#
# The image holds no model: it serves the registry's intent-posos@champion from the stores the trainer
# image (trainer.Dockerfile) writes, and follows the alias: when a training moves @champion, the new
# version is downloaded (checksums verified), checked on a probe row and swapped in without a restart.
# One image for every version; which one is live is the registry's decision, recorded with who and why.
# It exits 1 at start if intent-posos@champion does not exist yet (train and promote first).
#
# Build (the context is the repository root):
#   docker build -f examples/intent-posos/api.Dockerfile -t kiln-posos-api .
# Serve from the registry volume the trainer wrote:
#   docker run --rm -p 4002:4002 -v kiln-posos:/app/examples/intent-posos/.kiln kiln-posos-api
#   curl -s localhost:4002/intent -H content-type:application/json \
#     -d '{"question": "Puis-je prendre du doliprane enceinte ?"}'
# The prediction log is in the same volume (.kiln/predictions.db). Several replicas, no shared disk:
# the registry on PostgreSQL and S3, the log on PostgreSQL:
#   docker run -p 4002:4002 -e KILN_METADATA_URI=postgres://kiln@db:5432/kiln \
#     -e KILN_ARTIFACTS_URI='s3://models/kiln?endpoint=http://s3:7480&region=us-east-1' \
#     -e KILN_PREDICTION_LOG_URI=postgres://kiln@db:5432/kiln \
#     -e KILN_POSTGRES_PASSWORD_FILE=/run/secrets/pg -e KILN_S3_ACCESS_KEY_ID_FILE=/run/secrets/s3-id \
#     -e KILN_S3_SECRET_ACCESS_KEY_FILE=/run/secrets/s3-secret kiln-posos-api
# Another version or alias: docker run ... kiln-posos-api serve --project examples/intent-posos --model intent-posos@3
# Limits, API keys (KILN_API_KEYS_SHA256), rate limits: see `kiln serve --help`; KILN_* variables apply.
#
# npm is 10.9.9 (npm 10, as node:22 ships it): npm 11 refuses this lockfile in `npm ci` (npm/cli#8805). No Docker engine
# runs where Kiln is developed: test/examples/intent-posos-docker.test.ts runs these steps in a temporary
# folder (clean installs, build, train, serve, health check, stop) to keep this file working.

ARG NPM_VERSION=10.9.9

# dist/: every dependency (TypeScript included), then the compiler. Scripts are not needed to compile.
FROM node:22-bookworm AS build
ARG NPM_VERSION
RUN npm --version | grep -qx "$NPM_VERSION" || npm install -g "npm@$NPM_VERSION"
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, and no install script runs: the native ones (@photostructure/sqlite,
# onnxruntime-node, DuckDB) ship their binaries inside their npm packages, onnxruntime-node's script
# would only download CUDA libraries, and the root's `prepare` is a build with the dev-only compiler.
FROM node:22-bookworm AS deps
ARG NPM_VERSION
RUN npm --version | grep -qx "$NPM_VERSION" || npm install -g "npm@$NPM_VERSION"
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts

FROM node:22-bookworm-slim
ENV NODE_ENV=production KILN_HOST=0.0.0.0 KILN_PORT=4002
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY examples/intent-posos/kiln.config.ts ./examples/intent-posos/
# The registry cache and the prediction log (and its disk buffer): the only place the non-root user writes.
RUN mkdir -p examples/intent-posos/.kiln && chown node:node examples/intent-posos/.kiln
USER node
VOLUME ["/app/examples/intent-posos/.kiln"]
EXPOSE 4002
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KILN_PORT||4002)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/bin.js"]
CMD ["serve", "--project", "examples/intent-posos", "--model", "intent-posos@champion"]
