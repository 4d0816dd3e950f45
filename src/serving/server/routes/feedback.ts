/**
 * `POST /v1/models/{name}/feedback`: a late true label for a past prediction, stored in the prediction
 * log beside the prediction it refers to.
 */
import type { FastifyInstance } from 'fastify';
import { type ServerContext, sendInvalid, sendNoModel } from '../context.js';

export function feedbackRoutes(context: ServerContext) {
  return async (app: FastifyInstance) => {
    app.post<{ Params: { name: string } }>(
      '/v1/models/:name/feedback',
      { onRequest: [context.keys.require] },
      async (request, reply) => {
        const live = context.models.get(request.params.name);
        if (!live) return sendNoModel(reply, context, request.params.name);
        if (!context.log)
          return reply
            .code(501)
            .send({ error: 'feedback needs a prediction log, and this server has none configured' });
        const body = request.body as { prediction_id?: unknown; label?: unknown } | null;
        const errors = [];
        if (typeof body?.prediction_id !== 'string' || body.prediction_id === '')
          errors.push({
            path: '/prediction_id',
            reason: 'expected the prediction_id string of a past prediction',
          });
        const refused = live.task.checkLabel(body?.label, live.output);
        if (refused) errors.push({ path: '/label', reason: refused });
        if (errors.length > 0) return sendInvalid(reply, errors);
        try {
          await context.log.feedback({
            predictionId: body!.prediction_id as string,
            model: live.model.name,
            // The log keeps labels as text: a class name as it is, a value or a list as JSON.
            label: typeof body!.label === 'string' ? body!.label : JSON.stringify(body!.label),
            time: new Date().toISOString(),
          });
        } catch (error) {
          request.log.error({ err: error }, 'feedback not stored');
          return reply.code(503).send({ error: 'the feedback could not be stored right now: retry later' });
        }
        return reply.code(202).send({ status: 'accepted', prediction_id: body!.prediction_id });
      },
    );
  };
}
