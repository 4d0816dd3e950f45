import path from 'node:path';
import type { PackagedModel } from '../../packaging/load.js';
import { exportPipelineToOnnx, onnxOutputName } from '../../packaging/onnx.js';
import type { Engine, EngineName } from '../engine.js';
import { jsEngine } from './js.js';
import type { OnnxEngineOptions } from './onnx.js';

/**
 * An engine for a loaded package. `onnx` runs the package's `model.onnx` when it has one, else a graph
 * exported in memory from the manifest and weights (`exportPipelineToOnnx`, which throws a clear
 * `OnnxExportError` for families without an export); rows the graph refuses get their reasons from the
 * package's JS pipeline, run on those rows only; unseen values are looked up in the pipeline's levels.
 */
export async function createEngine(
  model: PackagedModel,
  name: EngineName = 'js',
  options: Pick<OnnxEngineOptions, 'intraOpNumThreads'> = {},
): Promise<Engine> {
  if (name === 'js') return jsEngine(model);
  // onnxruntime loads only for the engine that uses it.
  const { OnnxEngine } = await import('./onnx.js');
  const graph = model.manifest.model.onnx;
  return OnnxEngine.create(graph ? path.join(model.dir, graph) : exportPipelineToOnnx(model), {
    ...options,
    width: model.task.width(model.output),
    output: onnxOutputName(model.task.name),
    classes: model.output.classes,
    explain: (table) => model.pipeline.transform(table).rowErrors,
    findUnseen: (table) => model.pipeline.findUnseen(table),
  });
}
