import { Command, Option } from 'commander';
import { describeEvent } from '../../notifications/index.js';
import { EXIT_FAILED } from '../errors.js';
import { table, withBackends } from './backends.js';
import { positiveInteger } from './shared.js';

const projectOption = () =>
  new Option('--project <dir>', 'project whose stores and notifications to use').default('.');

export function eventsCommand(): Command {
  const events = new Command('events')
    .description('Registry events: the change stream, webhook delivery, and the dead-letter list.')
    .addHelpText(
      'after',
      `
Every registry change is an event. Webhooks configured under \`notifications.webhooks\` receive each one
(POST, JSON, signed with HMAC-SHA256 in x-kiln-signature over "<x-kiln-timestamp>.<body>"), retried with
backoff; an event that still fails is parked in the dead-letter list until \`kiln events replay\`.`,
    );

  events
    .command('list')
    .description('Events, oldest first.')
    .option('--model <name>', 'only this model')
    .option('--after <id>', 'only events after this id', positiveInteger('--after'), 0)
    .option('--limit <n>', 'how many', positiveInteger('--limit'), 100)
    .addOption(projectOption())
    .addOption(new Option('--format <format>').choices(['table', 'json']).default('table'))
    .action(
      async (options: { model?: string; after: number; limit: number; project: string; format: string }) => {
        await withBackends(options.project, async ({ store }) => {
          const list = await store.listEvents({
            model: options.model,
            afterId: options.after,
            limit: options.limit,
          });
          if (options.format === 'json')
            return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          if (list.length === 0) return void process.stdout.write('no events\n');
          process.stdout.write(
            table(
              ['event', 'at (UTC)', 'what'],
              list.map((e) => [String(e.id), e.at.replace('T', ' ').slice(0, 19), describeEvent(e)]),
            ),
          );
        });
      },
    );

  events
    .command('dead')
    .description('Events parked after failed deliveries.')
    .option('--target <target>', 'only this notifier (e.g. webhook:ops)')
    .addOption(projectOption())
    .action(async (options: { target?: string; project: string }) => {
      await withBackends(options.project, async ({ store }) => {
        const letters = await store.listDeadLetters(options.target);
        if (letters.length === 0) return void process.stdout.write('no dead letters\n');
        process.stdout.write(
          table(
            ['event', 'target', 'attempts', 'parked (UTC)', 'last error'],
            letters.map((l) => [
              String(l.eventId),
              l.target,
              String(l.attempts),
              l.parkedAt.replace('T', ' ').slice(0, 19),
              l.error,
            ]),
          ),
        );
      });
    });

  events
    .command('replay')
    .description('Deliver parked events again; delivered ones leave the dead-letter list.')
    .option('--target <target>', 'only this notifier')
    .option('--event <id>', 'only this event', positiveInteger('--event'))
    .addOption(projectOption())
    .action(async (options: { target?: string; event?: number; project: string }) => {
      await withBackends(options.project, async ({ dispatcher }) => {
        const result = await dispatcher.replay({ target: options.target, eventId: options.event });
        process.stdout.write(`delivered ${result.delivered}, still failing ${result.parked}\n`);
        if (result.parked > 0) process.exitCode = EXIT_FAILED;
      });
    });

  events
    .command('deliver')
    .description('Deliver events no notifier has seen yet (normally done right after each change).')
    .addOption(projectOption())
    .action(async (options: { project: string }) => {
      await withBackends(options.project, async ({ dispatcher }) => {
        const result = await dispatcher.dispatchPending();
        process.stdout.write(`delivered ${result.delivered}, parked ${result.parked}\n`);
        if (result.parked > 0) process.exitCode = EXIT_FAILED;
      });
    });
  return events;
}
