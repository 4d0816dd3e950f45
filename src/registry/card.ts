/**
 * A model card (Markdown) generated from the registry and the package: what the model does, what it
 * was trained on, how well it does with its variability, what it should and should not be used for,
 * and where it came from.
 */
import type { Manifest } from '../packaging/manifest.js';
import type { ModelVersion, RegisteredModel } from '../stores/metadata/index.js';

interface Summary {
  n?: number;
  mean: number;
  std: number;
}
interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  replicates: number;
}

export function renderModelCard(model: RegisteredModel, version: ModelVersion, manifest: Manifest): string {
  const lines: string[] = [];
  const aliases = version.aliases.map((a) => `\`@${a}\``).join(', ');
  lines.push(`# Model card: ${model.name}, version ${version.version}`, '');
  lines.push(
    `Registered ${version.createdAt} by ${version.createdBy}${aliases ? `; aliases ${aliases}` : ''}.`,
    '',
  );
  const description = [model.description, version.description].filter((d) => d !== '').join('\n\n');
  if (description) lines.push(description, '');

  lines.push('## Model', '');
  const classes = manifest.output.classes;
  lines.push(
    `- Task: ${manifest.task.replace('_', ' ')} of \`${manifest.output.target}\` into ${classes.length} classes (${classes.map((c) => `\`${c}\``).join(', ')})` +
      (manifest.output.positive !== undefined ? `, positive class \`${manifest.output.positive}\`` : '') +
      (manifest.output.threshold !== undefined
        ? `, decision threshold ${fmt(manifest.output.threshold)}`
        : ''),
    `- Family: \`${manifest.model.family}\`${manifest.model.onnx ? ' (also exported as one ONNX graph)' : ''}`,
    `- Inputs (${manifest.signature.inputs.length}): ${manifest.signature.inputs.map((i) => `\`${i.name}\` (${i.type}${i.nullable ? ', may be missing' : ''})`).join(', ')}`,
    `- Features after the frozen pipeline: ${manifest.featureNames.length}`,
    '',
  );

  lines.push('## Data', '');
  if (version.lineage.data.length === 0) lines.push('No training data recorded (an imported model).', '');
  else {
    lines.push('| role | file | sha256 | rows read | accepted | rejected |', '|---|---|---|---:|---:|---:|');
    for (const d of version.lineage.data)
      lines.push(
        `| ${d.role} | ${d.path} | \`${d.sha256.slice(0, 12)}\` | ${d.rowsRead} | ${d.rowsAccepted} | ${d.rowsRejected} |`,
      );
    lines.push('');
  }
  const prior = (manifest.reference as { classPrior?: number[] } | undefined)?.classPrior;
  if (prior)
    lines.push(
      `Class balance in training: ${classes.map((c, i) => `\`${c}\` ${(100 * prior[i]).toFixed(1)} %`).join(', ')}.`,
      '',
    );

  lines.push('## Metrics', '');
  const metrics = manifest.metrics as {
    headline?: string;
    cv?: Record<string, Summary>;
    intervals?: Record<string, Interval>;
    test?: Record<string, number>;
  };
  if (metrics.cv && Object.keys(metrics.cv).length) {
    const folds = Object.values(metrics.cv)[0]?.n;
    lines.push(
      `Cross-validation${folds ? ` (${folds} folds)` : ''}: mean ± standard deviation over folds; the interval is a bootstrap of the pooled out-of-fold predictions.`,
      '',
      '| metric | mean ± std | bootstrap interval |',
      '|---|---|---|',
    );
    for (const [name, s] of Object.entries(metrics.cv)) {
      const interval = metrics.intervals?.[name];
      const shown = interval
        ? `${fmt(interval.estimate)} [${fmt(interval.lower)}, ${fmt(interval.upper)}] (${Math.round(100 * interval.level)} %, ${interval.replicates} resamples)`
        : '';
      lines.push(
        `| ${name === metrics.headline ? `**${name}**` : name} | ${fmt(s.mean)} ± ${fmt(s.std)} | ${shown} |`,
      );
    }
    lines.push('');
  }
  if (metrics.test) {
    lines.push('Held-out test set:', '');
    for (const [name, value] of Object.entries(metrics.test)) lines.push(`- ${name}: ${fmt(value)}`);
    lines.push('');
  }
  if (!metrics.cv && !metrics.test) lines.push('No evaluation recorded with this package.', '');

  lines.push('## Intended use', '');
  lines.push(
    manifest.card?.intendedUse ??
      `Scoring records shaped like the training data of project \`${version.lineage.project}\` (the inputs above), through the Kiln server or \`kiln predict\`.`,
    '',
  );

  lines.push('## Limitations', '');
  const limitations = [...(manifest.card?.limitations ?? [])];
  if (prior && Math.min(...prior) < 0.1)
    limitations.push(
      `The smallest class is ${(100 * Math.min(...prior)).toFixed(1)} % of training rows: precision on it is sensitive to the threshold and to shifts in its base rate.`,
    );
  limitations.push(
    'Measured on data from the same source as training; performance on a different population or period is unknown until monitored (drift and live quality from late labels).',
    'Categories not seen in training follow the package policy for unseen values; values outside the declared schema are refused.',
  );
  for (const limitation of limitations) lines.push(`- ${limitation}`);
  lines.push('');

  lines.push('## Lineage', '');
  const l = version.lineage;
  lines.push(
    `- Run: ${l.runId ?? 'none'}`,
    `- Project: ${l.project}`,
    `- Code version: ${l.codeVersion}`,
    `- Seed: ${l.seed ?? 'none'}`,
    `- Parent version: ${l.parentVersion ?? 'none'}`,
    ...(l.importedFrom ? [`- Imported from: ${l.importedFrom}`] : []),
    `- Package: ${version.packageUri} (sha256 digest \`${version.packageDigest}\`)`,
    '',
  );
  const tags = Object.entries({ ...model.tags, ...version.tags });
  if (tags.length) lines.push('## Tags', '', ...tags.map(([k, v]) => `- ${k}: ${v}`), '');
  return lines.join('\n');
}

function fmt(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : 'n/a';
}
