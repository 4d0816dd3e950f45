import { readFileSync } from 'node:fs';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Kiln's own S3 credentials from the environment: KILN_S3_ACCESS_KEY_ID and KILN_S3_SECRET_ACCESS_KEY,
 * each either set directly or as `<NAME>_FILE` naming a file that holds it (a mounted secret; trimmed).
 * Returns undefined when neither is set, leaving the AWS SDK's default chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, the shared credentials file, instance roles). Errors name variables and files,
 * never values.
 */
export function kilnS3Credentials(env: NodeJS.ProcessEnv = process.env): S3Credentials | undefined {
  const accessKeyId = secretFromEnv('KILN_S3_ACCESS_KEY_ID', env);
  const secretAccessKey = secretFromEnv('KILN_S3_SECRET_ACCESS_KEY', env);
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = accessKeyId === undefined ? 'KILN_S3_ACCESS_KEY_ID' : 'KILN_S3_SECRET_ACCESS_KEY';
    throw new Error(`${missing} (or ${missing}_FILE) is not set, but its partner is: set both or neither`);
  }
  return { accessKeyId, secretAccessKey };
}

function secretFromEnv(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new Error(`both ${name} and ${name}_FILE are set: set only one`);
  if (direct) return direct;
  if (!file) return undefined;
  let value: string;
  try {
    value = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read ${name}_FILE (${file}): ${(error as Error).message}`);
  }
  if (!value) throw new Error(`${name}_FILE (${file}) is empty`);
  return value;
}
