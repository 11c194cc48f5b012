#!/usr/bin/env node
/**
 * The image's HEALTHCHECK: asks the running agent's `/healthz` and exits 0 (ok or degraded: the
 * agent still does its work) or 1 (failing, not answering, or settings the agent refuses).
 * It loads node:http and the local server's setting parsers, nothing else.
 */
import { probeHealth, probeLine } from './http/probe.js';

const result = await probeHealth(process.env);
process.stdout.write(`${probeLine(result)}\n`);
process.exitCode = result.state === 'ok' || result.state === 'degraded' ? 0 : 1;
