import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import type { Redis } from 'ioredis';

/** Where the training queue lives; every queue function takes these. */
export interface QueueConnectionOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379` or `rediss://user:pass@host:6380/2`. */
  readonly redis: string;
  /** BullMQ queue name; workers only take jobs from the queue they were given. @default 'cbtm-train' */
  readonly queueName?: string;
  /** Prefix of every Redis key of the queue. @default 'cbtm' */
  readonly prefix?: string;
  /** How long to wait for Redis to answer before failing. @default 5000 */
  readonly connectTimeoutMs?: number;
}

/**
 * Defaults of {@link QueueConnectionOptions}.
 *
 * @example
 * ```ts
 * await queueStatus('runs/demo', { ...defaultQueueConnectionOptions, redis: 'redis://10.0.0.5:6379' });
 * ```
 */
export const defaultQueueConnectionOptions = Object.freeze({
  queueName: 'cbtm-train',
  prefix: 'cbtm',
  connectTimeoutMs: 5000,
});

/** Resolved connection options. */
export interface ResolvedQueueConnection {
  readonly redis: string;
  readonly queueName: string;
  readonly prefix: string;
  readonly connectTimeoutMs: number;
}

/** Fills in defaults and checks the URL and the names. */
export function resolveQueueConnection(options: QueueConnectionOptions): ResolvedQueueConnection {
  const o = { ...defaultQueueConnectionOptions, ...options };
  let url: URL;
  try {
    url = new URL(o.redis);
  } catch {
    throw new InvalidArgumentError(
      `redis: "${o.redis}" is not a URL. Give one like redis://127.0.0.1:6379.`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidArgumentError(`redis: "${o.redis}" must start with redis:// or rediss://.`);
  }
  for (const [field, value] of [
    ['queueName', o.queueName],
    ['prefix', o.prefix],
  ] as const) {
    if (!/^[A-Za-z0-9_.-]+$/.test(value)) {
      throw new InvalidArgumentError(
        `${field} must be letters, digits, '_', '.' or '-', got "${value}".`,
      );
    }
  }
  return o;
}

/**
 * The URL without its password, for messages.
 *
 * @example
 * ```ts
 * redactRedisUrl('redis://:secret@10.0.0.5:6379'); // 'redis://:***@10.0.0.5:6379'
 * ```
 */
export function redactRedisUrl(redis: string): string {
  try {
    const url = new URL(redis);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return redis;
  }
}

/**
 * Opens an ioredis connection suitable for BullMQ (`maxRetriesPerRequest: null`) and waits until
 * Redis answers a PING, so a wrong URL fails at once with a message that says what to do rather
 * than hanging. After that, lost connections are retried forever (a worker outlives a Redis
 * restart).
 */
export async function openRedis(connection: ResolvedQueueConnection): Promise<Redis> {
  const { Redis: RedisClient } = await import('ioredis');
  const redis = new RedisClient(connection.redis, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: connection.connectTimeoutMs,
    retryStrategy: (times) => Math.min(times * 250, 2000),
  });
  // Without a listener ioredis prints every failed reconnect attempt.
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise<never>((_, fail) => {
        timer = setTimeout(
          () =>
            fail(
              new Error(lastError?.message ?? `no answer within ${connection.connectTimeoutMs} ms`),
            ),
          connection.connectTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    redis.disconnect();
    throw new CbtmError(
      'E_WORKER',
      `Cannot reach Redis at ${redactRedisUrl(connection.redis)}: ${(err as Error).message}. Start a Redis server (redis-server) or pass the right URL with --redis.`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
  return redis;
}
