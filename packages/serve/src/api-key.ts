import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks a request's `Authorization: Bearer <key>` against the server's key in constant time:
 * both sides are hashed first, so `timingSafeEqual` compares equal-length digests and the time
 * taken says nothing about the key's length or its first differing byte.
 */
export function hasApiKey(req: IncomingMessage, expected: Buffer): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
}

/** The digest `hasApiKey` compares against. */
export const apiKeyDigest = digest;
