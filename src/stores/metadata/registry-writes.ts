/**
 * The registry's writes, each the body of one transaction of the SQL store (sql-store.ts runs them
 * under `registryWrite`: write lock, registry writers in turn, replay after a lost reply). `op` is the
 * operation id recorded with the event the write appends.
 */
import type { Queries } from './sql-queries.js';
import {
  AliasConflictError,
  type AliasMove,
  type Change,
  type NewModelVersion,
  NotFoundError,
  RegistryError,
  type RegistryEvent,
} from './store.js';

/** The version for `input`: the existing one with this digest, or a new one numbered after all before it. */
export async function createVersion(
  q: Queries,
  op: string,
  input: NewModelVersion,
  change: Change,
): Promise<{ version: number; created: boolean }> {
  const existing = await q.db
    .selectFrom('model_versions')
    .select('version')
    .where('name', '=', input.name)
    .where('package_digest', '=', input.packageDigest)
    .executeTakeFirst();
  if (existing) return { version: existing.version, created: false };
  const now = new Date().toISOString();
  const model = await q.db
    .selectFrom('registered_models')
    .select('next_version')
    .where('name', '=', input.name)
    .executeTakeFirst();
  if (!model) {
    await q.db
      .insertInto('registered_models')
      .values({ name: input.name, created_at: now, updated_at: now })
      .execute();
    await q.appendEvent({ type: 'model.created', model: input.name }, change, {});
  }
  const version = model?.next_version ?? 1;
  await q.db
    .insertInto('model_versions')
    .values({
      name: input.name,
      version,
      created_at: now,
      created_by: change.actor,
      run_id: input.runId,
      package_uri: input.packageUri,
      package_digest: input.packageDigest,
      metrics: JSON.stringify(input.metrics),
      lineage: JSON.stringify(input.lineage),
      description: input.description ?? '',
      tags: JSON.stringify(input.tags ?? {}),
    })
    .execute();
  await q.db
    .updateTable('registered_models')
    .set({ next_version: version + 1, updated_at: now })
    .where('name', '=', input.name)
    .execute();
  await q.appendEvent(
    { type: 'version.created', model: input.name, version },
    change,
    { packageUri: input.packageUri, packageDigest: input.packageDigest, runId: input.runId },
    op,
  );
  return { version, created: true };
}

export async function moveAlias(q: Queries, op: string, move: AliasMove): Promise<RegistryEvent> {
  await q.requireVersion(move.name, move.version);
  const current = await q.aliasTarget(move.name, move.alias);
  if (current !== move.expected) throw new AliasConflictError(move.name, move.alias, move.expected, current);
  const now = new Date().toISOString();
  await q.db
    .insertInto('model_aliases')
    .values({ name: move.name, alias: move.alias, version: move.version, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['name', 'alias']).doUpdateSet((eb) => ({
        version: eb.ref('excluded.version'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
  await q.touch(move.name, now);
  return q.appendEvent(
    { type: 'alias.moved', model: move.name, version: move.version, alias: move.alias },
    move,
    { from: current },
    op,
  );
}

export async function deleteAlias(
  q: Queries,
  op: string,
  target: { name: string; alias: string; expected: number },
  change: Change,
): Promise<RegistryEvent> {
  const current = await q.aliasTarget(target.name, target.alias);
  if (current === null) throw new NotFoundError(`model ${target.name} has no alias "${target.alias}"`);
  if (current !== target.expected)
    throw new AliasConflictError(target.name, target.alias, target.expected, current);
  await q.db
    .deleteFrom('model_aliases')
    .where('name', '=', target.name)
    .where('alias', '=', target.alias)
    .execute();
  await q.touch(target.name, new Date().toISOString());
  return q.appendEvent(
    { type: 'alias.deleted', model: target.name, version: current, alias: target.alias },
    change,
    {},
    op,
  );
}

export async function setTag(
  q: Queries,
  op: string,
  target: { name: string; version: number | null; key: string; value: string | null },
  change: Change,
): Promise<RegistryEvent> {
  const tags = await q.readTags(target.name, target.version);
  if (target.value === null) delete tags[target.key];
  else tags[target.key] = target.value;
  await q.writeField(target.name, target.version, 'tags', JSON.stringify(tags));
  return q.appendEvent(
    {
      type: target.version === null ? 'model.tagged' : 'version.tagged',
      model: target.name,
      version: target.version,
    },
    change,
    { key: target.key, value: target.value },
    op,
  );
}

export async function setDescription(
  q: Queries,
  op: string,
  target: { name: string; version: number | null; description: string },
  change: Change,
): Promise<RegistryEvent> {
  await q.readTags(target.name, target.version); // existence check
  await q.writeField(target.name, target.version, 'description', target.description);
  return q.appendEvent(
    {
      type: target.version === null ? 'model.described' : 'version.described',
      model: target.name,
      version: target.version,
    },
    change,
    { description: target.description },
    op,
  );
}

export async function deleteVersion(
  q: Queries,
  op: string,
  target: { name: string; version: number },
  change: Change,
): Promise<RegistryEvent> {
  const row = await q.requireVersion(target.name, target.version);
  const aliases = (await q.aliasesOf(target.name)).get(target.version) ?? [];
  if (aliases.length)
    throw new RegistryError(
      `version ${target.version} of ${target.name} is still the target of ${aliases.map((a) => `@${a}`).join(', ')}; move or delete the alias first`,
    );
  await q.db
    .deleteFrom('model_versions')
    .where('name', '=', target.name)
    .where('version', '=', target.version)
    .execute();
  await q.touch(target.name, new Date().toISOString());
  return q.appendEvent(
    { type: 'version.deleted', model: target.name, version: target.version },
    change,
    { packageUri: row.package_uri, packageDigest: row.package_digest },
    op,
  );
}
