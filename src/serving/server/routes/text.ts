/**
 * Text-classification routes from `serving.textRoutes` (the posos `POST /intent` contract): one text or
 * a list in, per text the top class, its probability and the top-k out; and an optional page to try it.
 * Bodies must be valid UTF-8 here: a text with undecodable bytes is refused, not silently repaired
 * into U+FFFD characters the model was never trained on.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BodyError, parseJson } from '../body.js';
import type { TextRoute } from '../config.js';
import { logPredictions, type ServerContext, sendInvalid, sendNoModel, sendTooMany } from '../context.js';
import { type LiveModel, predictRows, type Scored } from '../predict.js';
import { RECORDS } from '../validation.js';
import { textRoutePage } from './text-page.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class InvalidBody extends Error {}

/** The texts of a body, or the reason it has none. */
function textsOf(route: TextRoute, body: unknown): { texts: string[]; single: boolean } | string {
  const shape = `the body must be {"${route.field}": "..."} or {"${route.batchField}": ["...", ...]}`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return shape;
  const object = body as Record<string, unknown>;
  if (route.field in object) {
    const text = object[route.field];
    if (typeof text !== 'string') return `/${route.field} must be a string`;
    return { texts: [text], single: true };
  }
  if (route.batchField in object) {
    const texts = object[route.batchField];
    if (!Array.isArray(texts)) return `/${route.batchField} must be a list of strings`;
    if (texts.length === 0) return `/${route.batchField} is empty: send at least one`;
    const bad = texts.findIndex((t) => typeof t !== 'string');
    if (bad >= 0) return `/${route.batchField}/${bad} must be a string`;
    return { texts: texts as string[], single: false };
  }
  return shape;
}

function topClasses(live: LiveModel, scored: Scored, i: number, top: number, label: string) {
  const k = live.classes.length;
  const order = Array.from({ length: k }, (_, c) => c).sort(
    (a, b) => scored.scores[i * k + b] - scored.scores[i * k + a],
  );
  return order
    .slice(0, top)
    .map((c) => ({ [label]: live.classes[c], probability: scored.scores[i * k + c] }));
}

export function textRoutes(context: ServerContext, routes: readonly TextRoute[]) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      let text: string;
      try {
        text = strictUtf8.decode(body as Buffer);
      } catch {
        return done(new InvalidBody('the body is not valid UTF-8'));
      }
      try {
        done(null, parseJson(text));
      } catch (error) {
        done(error as Error);
      }
    });
    app.setErrorHandler((error, request, reply) => {
      if (error instanceof InvalidBody || error instanceof BodyError)
        return reply.code(400).send({ error: error.message });
      if ((error as { statusCode?: number }).statusCode === 413)
        return reply.code(413).send({ error: (error as Error).message });
      request.log.error({ err: error }, 'text route failed');
      return reply.code(500).send({ error: 'internal error; the server keeps serving', id: request.id });
    });

    const predictAuth = context.requireAuthForPredict ? [context.keys.require] : [];
    for (const route of routes) {
      app.post(
        route.path,
        { onRequest: predictAuth },
        async (request: FastifyRequest, reply: FastifyReply) => {
          const live = context.models.get(route.model);
          if (!live) return sendNoModel(reply, context, route.model);
          const parsed = textsOf(route, request.body);
          if (typeof parsed === 'string') return reply.code(400).send({ error: parsed });
          const { texts, single } = parsed;
          if (texts.length > context.maxRecords) return sendTooMany(reply, texts.length, context.maxRecords);
          const where = (i: number) => (single ? `/${route.field}` : `/${route.batchField}/${i}`);
          const errors = texts.flatMap((text, i) => {
            if (text.trim() === '') return [{ path: where(i), reason: 'empty: send some words' }];
            if (text.length > route.maxLength)
              return [
                { path: where(i), reason: `${text.length} characters; the limit is ${route.maxLength}` },
              ];
            return [];
          });
          if (errors.length > 0) return sendInvalid(reply, errors);
          const startedAt = performance.now();
          const rows = texts.map((text) => ({ [route.column]: text }));
          const outcome = await predictRows(live, rows, RECORDS, where, context.predict);
          if (!outcome.ok) return sendInvalid(reply, outcome.errors, outcome.omitted);
          const { scored } = outcome;
          const answers = texts.map((_, i) => {
            const top = topClasses(live, scored, i, route.top, route.label);
            return {
              prediction_id: scored.ids[i],
              [route.label]: top[0][route.label],
              probability: top[0].probability,
              top,
            };
          });
          const room = logPredictions(context, live, scored, startedAt);
          if (room) await room;
          reply.send(
            single
              ? { model: live.model.name, version: live.model.version, ...answers[0] }
              : { model: live.model.name, version: live.model.version, predictions: answers },
          );
          return reply;
        },
      );
      if (route.page) {
        app.get(route.page, async (_request, reply) =>
          reply
            .type('text/html; charset=utf-8')
            .header(
              'content-security-policy',
              "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            )
            .send(textRoutePage(route, route.model)),
        );
      }
    }
  };
}
