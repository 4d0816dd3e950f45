/**
 * `POST /v1/models/{name}/feedback`: a late true label for a past prediction, stored in the prediction
 * log beside the prediction it refers to, every label of a prediction kept with its time.
 *
 * A write like the registry's: it needs a valid API key, and is refused (403) on a server without keys
 * unless the server opens it (`--open-feedback`). The id must be one the server hands out (a UUID) and
 * name a prediction of this model that the log holds, or is about to (404 otherwise), unless the server
 * accepts unknown ids (`--accept-unknown-feedback`, for predictions whose log arrives late).
 */
import type { FastifyInstance } from 'fastify';
import { PREDICTION_ID } from '../../../monitoring/prediction-log/backend.js';
import { type ServerContext, sendInvalid, sendNoModel } from '../context.js';
import type { FieldError } from '../validation.js';

const FEEDBACK_REFUSED =
  'feedback needs API keys: start the server with --api-keys-file or KILN_API_KEYS_SHA256, or with --open-feedback to take labels from anyone';

export function feedbackRoutes(context: ServerContext) {
  return async (app: FastifyInstance) => {
    app.post<{ Params: { name: string } }>(
      '/v1/models/:name/feedback',
      { onRequest: context.openFeedback ? [] : [context.keys.writer(FEEDBACK_REFUSED)] },
      async (request, reply) => {
        const live = context.models.get(request.params.name);
        if (!live) return sendNoModel(reply, context, request.params.name);
        if (!context.log)
          return reply
            .code(501)
            .send({ error: 'feedback needs a prediction log, and this server has none configured' });
        const body = request.body as { prediction_id?: unknown; label?: unknown } | null;
        const errors: FieldError[] = [];
        const id = predictionId(body?.prediction_id);
        if (typeof id !== 'string') errors.push({ path: '/prediction_id', reason: id.refused });
        const refused = live.task.checkLabel(body?.label, live.output);
        if (refused) errors.push({ path: '/label', reason: refused });
        if (typeof id !== 'string' || errors.length > 0) return sendInvalid(reply, errors);
        const model = live.model.name;
        try {
          if (!context.acceptUnknownFeedback && !(await context.log.hasPrediction(id, model)))
            return reply.code(404).send({
              error: `no prediction "${id}" of model "${model}" in the prediction log: a label must refer to a prediction this model answered`,
              prediction_id: id,
            });
          await context.log.feedback({
            predictionId: id,
            model,
            // The log keeps labels as text: a class name as it is, a value or a list as JSON.
            label: typeof body!.label === 'string' ? body!.label : JSON.stringify(body!.label),
            time: new Date().toISOString(),
          });
        } catch (error) {
          request.log.error({ err: error }, 'feedback not stored');
          return reply.code(503).send({ error: 'the feedback could not be stored right now: retry later' });
        }
        return reply.code(202).send({ status: 'accepted', prediction_id: id });
      },
    );
  };
}

/**
 * The id as the log stores it (lower case), or why it is refused: nothing of a refused id is echoed,
 * as it can be anything up to the body limit.
 */
function predictionId(value: unknown): string | { refused: string } {
  const expected = 'expected the prediction_id of a past prediction: a UUID, 36 characters';
  if (typeof value !== 'string')
    return { refused: `${expected}, got ${value === null ? 'null' : typeof value}` };
  if (value.length !== 36) return { refused: `${expected}, got ${value.length} characters` };
  const id = value.toLowerCase();
  return PREDICTION_ID.test(id) ? id : { refused: `${expected} (8-4-4-4-12 hex digits)` };
}
