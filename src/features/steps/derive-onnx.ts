import type { GraphBuilder } from '../../onnx/graph.js';
import type { Expression, ExprNode } from '../expression.js';

/**
 * The ONNX form of a derive expression over [N, 1] double columns. Mirrors expression.ts: NaN
 * propagates, x / 0 is NaN, and a non-finite result becomes NaN.
 * @param column a numeric column's [N, 1] tensor
 * @param rowShape the int64 shape [N, 1] of a column, for an expression that reads none
 */
export function deriveExpression(
  g: GraphBuilder,
  expression: Expression,
  column: (name: string) => string,
  rowShape: () => string,
): string {
  const visit = (node: ExprNode): string => {
    switch (node.kind) {
      case 'number':
        return g.doubles([node.value]);
      case 'column':
        return column(node.name);
      case 'negate':
        return g.node('Neg', [visit(node.arg)]);
      case 'binary': {
        const a = visit(node.left);
        const b = visit(node.right);
        if (node.op === '/') {
          return g.node('Where', [
            g.node('Equal', [b, g.doubles([0])]),
            g.doubles([Number.NaN]),
            g.node('Div', [a, b]),
          ]);
        }
        return g.node(BINARY_OPS[node.op], [a, b]);
      }
      case 'unary_call': {
        const a = visit(node.arg);
        if (node.fn === 'log1p') return g.node('Log', [g.node('Add', [a, g.doubles([1])])]);
        return g.node(UNARY_OPS[node.fn], [a]);
      }
      case 'variadic_call': {
        const args = node.args.map(visit);
        // Math.min/max return NaN when any argument is NaN; the ONNX spec leaves NaN in Min/Max
        // unspecified (onnxruntime propagates it, other runtimes need not), so the graph says it.
        const anyNaN = args.map((a) => g.node('IsNaN', [a])).reduce((acc, t) => g.node('Or', [acc, t]));
        return g.node('Where', [
          anyNaN,
          g.doubles([Number.NaN]),
          g.node(node.fn === 'min' ? 'Min' : 'Max', args),
        ]);
      }
    }
  };
  let result = visit(expression.root);
  if (expression.columns.length === 0) {
    // A constant expression still yields one value per row.
    result = g.node('Expand', [result, rowShape()]);
  }
  return g.node('Where', [g.node('IsInf', [result]), g.doubles([Number.NaN]), result]);
}

const BINARY_OPS = { '+': 'Add', '-': 'Sub', '*': 'Mul' } as const;
const UNARY_OPS = { log: 'Log', exp: 'Exp', sqrt: 'Sqrt', abs: 'Abs' } as const;
