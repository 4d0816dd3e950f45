import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import { CONFIG_FILE_NAMES, loadProject } from '../../config/load.js';
import { parseNotifications, webhookNotifiers } from '../../notifications/index.js';
import { redactedUrl } from '../../notifications/webhook.js';
import { defaultStores } from '../../registry/index.js';
import { openArtifactStore, S3ArtifactStore } from '../../stores/artifacts/index.js';
import { probeArtifactStore } from '../../stores/artifacts/probe.js';
import { openMetadataStore } from '../../stores/metadata/index.js';
import { EXIT_FAILED } from '../errors.js';

interface Check {
  name: string;
  target: string;
  ok: boolean;
  detail: string;
}

const PROBE_TIMEOUT_MS = 20_000;

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('Check every configured backend: connectivity, permissions, credentials; say what is wrong.')
    .argument('[project]', 'project folder (embedded defaults in that folder when it holds no project)', '.')
    .option('--create-bucket', "create the S3 artifact store's bucket when it does not exist")
    .addHelpText(
      'after',
      `
Checks the metadata store (connect, read, a rolled-back write), the artifact store (write, read back
with checksum, delete a probe object), and each webhook (secret present, host reachable). Environment
overrides (KILN_METADATA_URI, KILN_ARTIFACTS_URI, KILN_S3_*, AWS_*) apply as in every command.
Exit code 1 when any check fails.`,
    )
    .action(async (projectPath: string, options: { createBucket?: boolean }) => {
      const dir = path.resolve(projectPath);
      const checks: Check[] = [];
      let stores = defaultStores();
      let notifications: unknown;
      let baseDir = dir;
      const isProject =
        existsSync(dir) &&
        (statSync(dir).isFile() || CONFIG_FILE_NAMES.some((name) => existsSync(path.join(dir, name))));
      if (isProject) {
        try {
          const loaded = await loadProject(dir);
          stores = loaded.project.stores;
          notifications = loaded.project.notifications;
          baseDir = loaded.dir;
          checks.push({ name: 'config', target: loaded.configFile, ok: true, detail: 'valid' });
        } catch (error) {
          checks.push({ name: 'config', target: dir, ok: false, detail: (error as Error).message });
        }
      } else
        checks.push({ name: 'config', target: dir, ok: true, detail: 'no project here: embedded defaults' });

      checks.push(
        await check('metadata', process.env.KILN_METADATA_URI || stores.metadata, async () => {
          const store = openMetadataStore(stores.metadata, baseDir);
          try {
            return await store.probe();
          } finally {
            await store.close().catch(() => {});
          }
        }),
      );
      checks.push(
        await check('artifacts', process.env.KILN_ARTIFACTS_URI || stores.artifacts, async () => {
          const store = openArtifactStore(stores.artifacts, baseDir);
          try {
            const created =
              options.createBucket && store instanceof S3ArtifactStore && (await store.ensureBucket());
            const result = await probeArtifactStore(store);
            if (!result.ok)
              throw new Error(
                result.detail.includes('NoSuchBucket')
                  ? `${result.detail}; create it, or run kiln doctor --create-bucket`
                  : result.detail,
              );
            return created ? `bucket created; ${result.detail}` : result.detail;
          } finally {
            await store.close().catch(() => {});
          }
        }),
      );
      try {
        const config = parseNotifications(notifications);
        const notifiers = webhookNotifiers(config, baseDir);
        for (const [i, hook] of config.webhooks.entries())
          checks.push(
            await check(notifiers[i].target, redactedUrl(hook.url), async () => {
              const url = new URL(hook.url);
              const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
              await reachable(url.hostname, port);
              return `secret present, ${url.hostname}:${port} accepts connections`;
            }),
          );
      } catch (error) {
        checks.push({
          name: 'notifications',
          target: 'notifications',
          ok: false,
          detail: (error as Error).message,
        });
      }

      for (const c of checks)
        process.stdout.write(
          `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(10)} ${displayUri(c.target)}\n      ${c.detail}\n`,
        );
      const failed = checks.filter((c) => !c.ok).length;
      process.stdout.write(failed ? `\n${failed} check(s) failed\n` : '\nall checks passed\n');
      if (failed) process.exitCode = EXIT_FAILED;
    });
}

async function check(name: string, target: string, probe: () => Promise<string>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)),
      PROBE_TIMEOUT_MS,
    );
  });
  try {
    return { name, target, ok: true, detail: await Promise.race([probe(), timeout]) };
  } catch (error) {
    return { name, target, ok: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function reachable(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: 5000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`${host}:${port} did not accept a connection within 5 s`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`${host}:${port} unreachable (${error.code ?? error.message})`)),
    );
  });
}

/** URIs as shown: query strings may carry endpoints, never secrets, but user info could. */
function displayUri(uri: string): string {
  return uri.replace(/\/\/[^/@]*:[^/@]*@/, '//***@');
}
