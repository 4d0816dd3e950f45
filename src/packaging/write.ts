import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SavedModel } from '../models/family.js';
import { sealManifest } from './integrity.js';
import { type Manifest, type ManifestInput, manifestSchema } from './manifest.js';
import { encodeSafetensors } from './safetensors.js';

export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'weights.safetensors';
export const ONNX_FILE = 'model.onnx';

/**
 * Writes a package into `dir`, which must not exist yet. Files go to a sibling temporary folder that
 * is renamed into place at the end, so a reader never sees a half-written package. The manifest is
 * sealed with the digests of every file and of itself (see ./integrity), which `loadPackage` verifies.
 */
export function writePackage(
  dir: string,
  manifest: Omit<ManifestInput, 'model' | 'integrity'> & { model: { family: string } },
  saved: SavedModel,
  onnxGraph?: Uint8Array,
): Manifest {
  const full: ManifestInput = {
    ...manifest,
    model: {
      family: manifest.model.family,
      meta: saved.meta,
      weights: WEIGHTS_FILE,
      ...(onnxGraph ? { onnx: ONNX_FILE } : {}),
    },
  };
  // A copied manifest's old record would describe other files: the seal is always made here.
  const { integrity: _copied, ...unsealed } = manifestSchema.parse(full);
  const weights = encodeSafetensors(saved.tensors, { family: manifest.model.family });
  const sealed = sealManifest(unsealed, {
    [WEIGHTS_FILE]: weights,
    ...(onnxGraph ? { [ONNX_FILE]: onnxGraph } : {}),
  });
  const parent = path.dirname(path.resolve(dir));
  mkdirSync(parent, { recursive: true });
  const staging = path.join(parent, `.staging-${randomUUID()}`);
  mkdirSync(staging);
  try {
    writeFileSync(path.join(staging, WEIGHTS_FILE), weights);
    if (onnxGraph) writeFileSync(path.join(staging, ONNX_FILE), onnxGraph);
    writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(sealed, null, 2)}\n`);
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return sealed;
}
