import { createRequire } from 'node:module';
import type * as Crypto from 'node:crypto';
import type * as Http from 'node:http';

// Node's built-in modules the agent uses, loaded with require when first asked for. Imported as
// ES modules, every export is read at once: on Node >= 22 that runs node:http's lazy WebSocket
// exports, which load Node's own bundled copy of undici (+15 MiB RSS, +70 ms CPU per process,
// measured on Node 24), and node:crypto's WebCrypto. A type-only import costs nothing at run time.
const load = createRequire(import.meta.url);

/** `node:http`, without its lazy WebSocket exports. */
export function nodeHttp(): typeof Http {
  return load('node:http') as typeof Http;
}

/** `node:crypto`, without its lazy WebCrypto exports. */
export function nodeCrypto(): typeof Crypto {
  return load('node:crypto') as typeof Crypto;
}
