import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultActor, parseReference, renderModelCard } from '../../registry/index.js';
import type { ModelVersion } from '../../stores/metadata/index.js';
import { UserError } from '../errors.js';
import { table, withBackends } from './backends.js';

const projectOption = () =>
  new Option(
    '--project <dir>',
    'project whose stores to use (embedded defaults in that folder otherwise)',
  ).default('.');
const formatOption = () =>
  new Option('--format <format>', 'output format').choices(['table', 'json']).default('table');

function change(options: { reason?: string }) {
  return { actor: defaultActor(), reason: options.reason };
}

function versionNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError(`"${value}" is not a version number`);
  return Number(value);
}

function json(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `name@3` → 3; `name` → null (the model itself). Aliases are not accepted where a change targets a version. */
function versionTarget(ref: string): { name: string; version: number | null } {
  const parsed = parseReference(ref);
  if (parsed.kind === 'alias')
    throw new UserError(`"${ref}": name a version (name@3) or the model (name), not an alias`);
  return { name: parsed.name, version: parsed.kind === 'version' ? parsed.version : null };
}

function headline(version: ModelVersion): string {
  const metrics = version.metrics as {
    headline?: string;
    cv?: Record<string, { mean: number; std: number }>;
  };
  const summary = metrics.headline ? metrics.cv?.[metrics.headline] : undefined;
  return summary ? `${metrics.headline}=${summary.mean.toFixed(4)}±${summary.std.toFixed(4)}` : '';
}

export function modelsCommand(): Command {
  const models = new Command('models')
    .description('The model registry: versions, aliases, tags, model cards, audit history.')
    .addHelpText(
      'after',
      `
References: name (latest version), name@3 (version 3), name@champion (an alias).
Changes are recorded with who (KILN_ACTOR, else the OS user) and why (--reason), and sent to the
configured webhooks. Stores come from --project's config, else the embedded defaults in that folder;
KILN_METADATA_URI and KILN_ARTIFACTS_URI override both.`,
    );

  models
    .command('list')
    .description('Registered models with their latest version and aliases.')
    .addOption(projectOption())
    .addOption(formatOption())
    .action(async (options: { project: string; format: string }) => {
      await withBackends(options.project, async ({ store }) => {
        const list = await store.listModels();
        if (options.format === 'json') return json(list);
        if (list.length === 0) return void process.stdout.write(`no registered models in ${store.uri}\n`);
        process.stdout.write(
          table(
            ['model', 'latest', 'aliases', 'updated (UTC)'],
            list.map((m) => [
              m.name,
              String(m.latestVersion ?? '-'),
              Object.entries(m.aliases)
                .map(([a, v]) => `${a}→${v}`)
                .join(' '),
              m.updatedAt.replace('T', ' ').slice(0, 19),
            ]),
          ),
        );
      });
    });

  models
    .command('show')
    .description('One model (name) or one version (name@3, name@alias): everything recorded, as JSON.')
    .argument('<ref>')
    .addOption(projectOption())
    .action(async (ref: string, options: { project: string }) => {
      await withBackends(options.project, async ({ store, registry }) => {
        const parsed = parseReference(ref);
        if (parsed.kind === 'latest') {
          const model = await store.getModel(parsed.name);
          if (!model) throw new UserError(`no registered model "${parsed.name}" in ${store.uri}`);
          return json({ ...model, versions: await store.listVersions(parsed.name) });
        }
        json(await registry.resolve(parsed));
      });
    });

  models
    .command('versions')
    .description('Versions of a model, newest first.')
    .argument('<name>')
    .addOption(projectOption())
    .addOption(formatOption())
    .action(async (name: string, options: { project: string; format: string }) => {
      await withBackends(options.project, async ({ store }) => {
        if (!(await store.getModel(name)))
          throw new UserError(`no registered model "${name}" in ${store.uri}`);
        const versions = await store.listVersions(name);
        if (options.format === 'json') return json(versions);
        process.stdout.write(
          table(
            ['version', 'created (UTC)', 'by', 'aliases', 'headline', 'run'],
            versions.map((v) => [
              String(v.version),
              v.createdAt.replace('T', ' ').slice(0, 19),
              v.createdBy,
              v.aliases.join(' '),
              headline(v),
              (v.runId ?? '').slice(0, 8),
            ]),
          ),
        );
      });
    });

  models
    .command('alias')
    .description('Point an alias at a version (compare-and-set), or delete it.')
    .argument('<name>')
    .argument('<alias>')
    .argument('[version]', 'version to point at', versionNumber)
    .option(
      '--expect <version>',
      'the version the alias must point at now ("none": unset); default: what it points at when read',
    )
    .option('--delete', 'remove the alias')
    .option('--reason <text>', 'why, for the audit history')
    .addOption(projectOption())
    .action(
      async (
        name: string,
        alias: string,
        version: number | undefined,
        options: { expect?: string; delete?: boolean; reason?: string; project: string },
      ) => {
        const expected =
          options.expect === undefined
            ? undefined
            : options.expect === 'none'
              ? null
              : versionNumber(options.expect);
        await withBackends(options.project, async ({ registry }) => {
          if (options.delete) {
            if (expected === null) throw new UserError('--delete with --expect none makes no sense');
            const event = await registry.deleteAlias({ name, alias, expected }, change(options));
            return void process.stdout.write(`deleted ${name}@${alias} (was version ${event.version})\n`);
          }
          if (version === undefined)
            throw new UserError('name the version to point the alias at (or --delete)');
          const event = await registry.moveAlias({ name, alias, version, expected }, change(options));
          const from = (event.details as { from: number | null }).from;
          process.stdout.write(
            `${name}@${alias} → version ${version}${from === null ? ' (new alias)' : ` (was ${from})`}\n`,
          );
        });
      },
    );

  models
    .command('tag')
    .description('Set (key value) or remove (--delete) a tag on a model (name) or a version (name@3).')
    .argument('<ref>')
    .argument('<key>')
    .argument('[value]')
    .option('--delete', 'remove the tag')
    .option('--reason <text>', 'why, for the audit history')
    .addOption(projectOption())
    .action(
      async (
        ref: string,
        key: string,
        value: string | undefined,
        options: { delete?: boolean; reason?: string; project: string },
      ) => {
        if (!options.delete && value === undefined) throw new UserError('give a value, or --delete');
        await withBackends(options.project, async ({ registry }) => {
          await registry.setTag(
            { ...versionTarget(ref), key, value: options.delete ? null : value! },
            change(options),
          );
          process.stdout.write(
            options.delete ? `removed tag ${key} from ${ref}\n` : `${ref}: ${key}=${value}\n`,
          );
        });
      },
    );

  models
    .command('describe')
    .description('Set the description of a model (name) or a version (name@3).')
    .argument('<ref>')
    .argument('<text>')
    .option('--reason <text>', 'why, for the audit history')
    .addOption(projectOption())
    .action(async (ref: string, text: string, options: { reason?: string; project: string }) => {
      await withBackends(options.project, async ({ registry }) => {
        await registry.setDescription({ ...versionTarget(ref), description: text }, change(options));
        process.stdout.write(`described ${ref}\n`);
      });
    });

  models
    .command('card')
    .description(
      'The model card (Markdown) of a version: data, metrics with variability, use, limitations, lineage.',
    )
    .argument('<ref>', 'name, name@3 or name@alias')
    .option('--output <file>', 'write to a file instead of stdout')
    .addOption(projectOption())
    .action(async (ref: string, options: { output?: string; project: string }) => {
      await withBackends(options.project, async ({ store, registry }) => {
        const version = await registry.resolve(ref);
        const model = (await store.getModel(version.name))!;
        const card = renderModelCard(model, version, await registry.manifest(version));
        if (options.output) {
          writeFileSync(options.output, card);
          process.stdout.write(`model card written to ${options.output}\n`);
        } else process.stdout.write(card);
      });
    });

  models
    .command('register')
    .description('Register a model package folder (e.g. one made by `kiln import`) as a new version.')
    .argument('<package>', 'package folder')
    .requiredOption('--name <name>', 'registered model name')
    .option('--alias <alias>', 'point this alias at the new version')
    .option('--description <text>', 'version description')
    .option('--reason <text>', 'why, for the audit history')
    .option(
      '--allow-modified',
      'register a package whose files no longer match the digests its manifest records (edited by hand), with a warning',
    )
    .addOption(projectOption())
    .action(
      async (
        packageDir: string,
        options: {
          name: string;
          alias?: string;
          description?: string;
          reason?: string;
          allowModified?: boolean;
          project: string;
        },
      ) => {
        await withBackends(options.project, async ({ registry }) => {
          const { version, created } = await registry.register(
            {
              name: options.name,
              packageDir,
              description: options.description,
              allowModified: options.allowModified,
            },
            change(options),
          );
          process.stdout.write(
            created
              ? `registered ${version.name} version ${version.version} (${version.packageUri})\n`
              : `${version.name} version ${version.version} already holds this exact package\n`,
          );
          if (options.alias) {
            await registry.moveAlias(
              { name: version.name, alias: options.alias, version: version.version },
              change(options),
            );
            process.stdout.write(`${version.name}@${options.alias} → version ${version.version}\n`);
          }
        });
      },
    );

  models
    .command('delete')
    .description(
      'Delete a version (name@3); refused while an alias points at it. The audit history keeps it.',
    )
    .argument('<ref>', 'name@version')
    .option('--reason <text>', 'why, for the audit history')
    .addOption(projectOption())
    .action(async (ref: string, options: { reason?: string; project: string }) => {
      const target = versionTarget(ref);
      if (target.version === null) throw new UserError(`"${ref}": name the version to delete, e.g. ${ref}@1`);
      await withBackends(options.project, async ({ registry }) => {
        await registry.deleteVersion({ name: target.name, version: target.version! }, change(options));
        process.stdout.write(`deleted ${target.name} version ${target.version}\n`);
      });
    });

  models
    .command('history')
    .description('The audit history of a model: every change, who made it, when and why.')
    .argument('<name>')
    .option('--limit <n>', 'most recent entries', '50')
    .addOption(projectOption())
    .addOption(formatOption())
    .action(async (name: string, options: { limit: string; project: string; format: string }) => {
      await withBackends(options.project, async ({ store }) => {
        const events = (await store.listEvents({ model: name, limit: 100_000 })).slice(
          -Number(options.limit),
        );
        if (options.format === 'json') return json(events);
        process.stdout.write(
          table(
            ['event', 'at (UTC)', 'change', 'version', 'alias', 'by', 'why'],
            events.map((e) => [
              String(e.id),
              e.at.replace('T', ' ').slice(0, 19),
              e.type,
              String(e.version ?? ''),
              e.alias ?? '',
              e.actor,
              e.reason ?? '',
            ]),
          ),
        );
      });
    });
  return models;
}
