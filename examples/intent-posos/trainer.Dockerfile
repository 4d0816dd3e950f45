# syntax=docker/dockerfile:1
# The posos intent trainer: `kiln train examples/intent-posos` in a container, no Node on the host.
#
# Build (the context is the repository root):
#   docker build -f examples/intent-posos/trainer.Dockerfile -t kiln-posos-trainer .
# Train: the data read-only from the host, the registry in a named volume (kiln-posos) that the api
# image (api.Dockerfile) serves from:
#   docker run --rm \
#     -v "$PWD/../shared/datasets/intent-posos:/shared/datasets/intent-posos:ro" \
#     -v kiln-posos:/app/examples/intent-posos/.kiln \
#     kiln-posos-trainer
# kiln.config.ts reads ../../../shared/datasets/intent-posos/ from /app/examples/intent-posos, that is
# /shared/datasets/intent-posos here: mount the data folder there. A run whose gates pass is registered
# as the next version of intent-posos (the run folder, report.html included, is in the volume); exit 1
# when a gate fails. Point @champion at a new version (`make train` does it; `registry.alias` in the
# config does it at every passing run) with the same image, which runs any kiln command:
#   docker run --rm -v kiln-posos:/app/examples/intent-posos/.kiln kiln-posos-trainer \
#     models alias intent-posos champion <version> --project examples/intent-posos
# Production stores instead of the volume: -e KILN_METADATA_URI=postgres://kiln@db:5432/kiln
#   -e KILN_ARTIFACTS_URI='s3://models/kiln?endpoint=http://s3:7480&region=us-east-1', secrets through
#   KILN_POSTGRES_PASSWORD_FILE, KILN_S3_ACCESS_KEY_ID_FILE and KILN_S3_SECRET_ACCESS_KEY_FILE.
#
# npm is 10.9.9 (npm 10, as node:22 ships it): npm 11 refuses this lockfile in `npm ci` (npm/cli#8805). No Docker engine
# runs where Kiln is developed: test/examples/intent-posos-docker.test.ts runs these steps in a temporary
# folder (clean installs, build, train, serve) to keep this file working.

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
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY examples/intent-posos/kiln.config.ts ./examples/intent-posos/
# The registry, run folders and caches: the only place the non-root user writes.
RUN mkdir -p examples/intent-posos/.kiln && chown node:node examples/intent-posos/.kiln
USER node
VOLUME ["/app/examples/intent-posos/.kiln", "/shared/datasets/intent-posos"]
ENTRYPOINT ["node", "dist/cli/bin.js"]
CMD ["train", "examples/intent-posos", "--no-search"]
