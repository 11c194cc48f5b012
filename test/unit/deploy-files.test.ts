import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../../../', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8');

describe('Dockerfile.template', () => {
  const dockerfile = read('Dockerfile.template');
  it('builds from an official Node image for every architecture it supports', () => {
    assert.match(dockerfile, /^ARG BALENA_ARCH=%%BALENA_ARCH%%$/m);
    assert.match(dockerfile, /^FROM node:24-bookworm-slim AS node-aarch64$/m);
    assert.match(dockerfile, /^FROM node:24-bookworm-slim AS node-amd64$/m);
    assert.match(dockerfile, /^FROM node:22-bookworm-slim AS node-armv7hf$/m);
    assert.ok(!/balenalib/.test(dockerfile), 'no frozen balenalib images');
  });
  it('is multi-stage, runs the agent and checks its health', () => {
    assert.match(dockerfile, /^FROM node-\$\{BALENA_ARCH\} AS build$/m);
    assert.match(dockerfile, /^FROM node-\$\{BALENA_ARCH\} AS run$/m);
    assert.match(dockerfile, /npm ci --ignore-scripts/);
    assert.match(dockerfile, /npm prune --omit=dev/);
    assert.match(dockerfile, /HEALTHCHECK[^\n]*\n\s*CMD \["node", "--liftoff-only", "dist\/src\/main.js", "health"\]/);
    assert.match(dockerfile, /^CMD \["node", "--liftoff-only", "dist\/src\/main.js", "run"\]$/m);
  });
});

describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');
  it('uses the compose format balena supports and both API labels', () => {
    assert.match(compose, /^version: '2\.4'$/m);
    assert.match(compose, /^\s+io\.balena\.features\.supervisor-api: '1'$/m);
    assert.match(compose, /^\s+io\.balena\.features\.balena-api: '1'$/m);
  });
  it('keeps the data directory on a named volume', () => {
    assert.match(compose, /^\s+- fleet-agent-data:\/data$/m);
    assert.match(compose, /^volumes:\n\s+fleet-agent-data:/m);
  });
  it('uses no field balena rejects', () => {
    for (const field of ['container_name', 'env_file', 'logging', 'links', 'cpus', '${']) {
      assert.ok(!compose.includes(field), `unsupported compose field ${field}`);
    }
  });
});

describe('balena.yml', () => {
  const block = read('balena.yml');
  const version = (JSON.parse(read('package.json')) as { version: string }).version;
  it('publishes a block whose version follows package.json', () => {
    assert.match(block, /^type: sw\.block$/m);
    assert.match(block, new RegExp(`^version: ${version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(block, /^\s+defaultDeviceType: \S+$/m);
  });
});
