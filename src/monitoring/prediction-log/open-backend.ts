import path from 'node:path';
import { openArtifactStore } from '../../stores/artifacts/index.js';
import { ArtifactJsonlStore } from './artifact-jsonl.js';
import type { PredictionBackend } from './backend.js';
import { JsonlSegmentStore } from './jsonl.js';
import { PostgresPredictionStore } from './postgres.js';
import { SqlitePredictionStore } from './sqlite.js';

const SUPPORTED =
  'supported: sqlite://path, jsonl+file://dir, postgres://user@host:5432/db[?schema=name], ' +
  'jsonl+s3://bucket/prefix[?endpoint=http://host:port&region=us-east-1]';

/**
 * Opens the backend a URI names. sqlite://relative/path and jsonl+file://relative/dir resolve against
 * `baseDir`; three slashes make them absolute; sqlite://:memory: is for tests. postgres:// (or
 * postgresql://) takes its password from the environment like the metadata store. jsonl+s3:// stages
 * segments in `$KILN_LOCAL_DIR/prediction-log-staging` (default `<baseDir>/.kiln/prediction-log-staging`)
 * and uploads each closed one; S3 settings and credentials come from the environment like the
 * artifact store's.
 */
export async function openPredictionBackend(
  uri: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PredictionBackend> {
  const separator = uri.indexOf('://');
  const scheme = separator < 0 ? '' : uri.slice(0, separator);
  const location = separator < 0 ? '' : uri.slice(separator + 3);
  if (!location && scheme) throw new Error(`prediction log URI ${uri} names no location`);
  switch (scheme) {
    case 'sqlite':
      return new SqlitePredictionStore(
        uri,
        location === ':memory:' ? location : path.resolve(baseDir, location),
      );
    case 'jsonl+file':
      return JsonlSegmentStore.open(uri, path.resolve(baseDir, location));
    case 'postgres':
    case 'postgresql':
      return PostgresPredictionStore.open(uri, { env });
    case 'jsonl+s3': {
      // The log's own bucket and prefix: KILN_ARTIFACTS_URI redirects the project's artifact store only.
      const artifacts = openArtifactStore(uri.slice('jsonl+'.length), baseDir, {
        ...env,
        KILN_ARTIFACTS_URI: undefined,
      });
      const staging = env.KILN_LOCAL_DIR
        ? path.resolve(env.KILN_LOCAL_DIR, 'prediction-log-staging')
        : path.resolve(baseDir, '.kiln', 'prediction-log-staging');
      try {
        return await ArtifactJsonlStore.open(`jsonl+${artifacts.uri}`, artifacts, staging);
      } catch (error) {
        await artifacts.close();
        throw error;
      }
    }
    default:
      throw new Error(`unsupported prediction log URI "${uri}" (${SUPPORTED})`);
  }
}
