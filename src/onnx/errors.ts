/** What cannot be expressed as an ONNX graph: a step, a family or an input without an ONNX form. */
export class OnnxExportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`cannot export to ONNX: ${message}`, options);
    this.name = 'OnnxExportError';
  }
}
