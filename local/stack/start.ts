/**
 * `npm start` (tsx local/stack/start.ts): runs the local stack in the foreground until SIGINT/SIGTERM.
 * A first signal shuts down cleanly (the running sweep and in-flight requests finish, servers and the
 * ledger close) and exits 0; a second one (a second later or more) exits at once with 130.
 */
import { ConfigError } from '../../shared/config/index.ts';
import { startLocalStack } from './stack.ts';

function fail(err: unknown): never {
  const msg =
    err instanceof ConfigError
      ? err.message
      : err instanceof Error
        ? (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
          ? `${err.message} (set PORT / FERRY_CLOUD_PORT to free ports)`
          : err.message
        : String(err);
  process.stderr.write(`ferry: could not start the local stack:\n${msg}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const stack = await startLocalStack();
  let stoppingSince = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince) {
      // One Ctrl-C can arrive twice (the terminal signals the whole group and `tsx` relays it too).
      if (Date.now() - stoppingSince < 1000) return;
      process.stderr.write(`ferry: ${signal} again, exiting without waiting\n`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    process.stderr.write(`ferry: ${signal}, shutting down (waiting for the running sweep and requests)…\n`);
    stack.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`ferry: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(fail);
