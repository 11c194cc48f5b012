/** `/v7/<resource>` as pine answers it: GET/POST/PATCH/DELETE with OData keys and options. */
import {
  ODataParsingError,
  ODataSyntaxError,
  ODataUnsupportedError,
  parseRequest,
  type QueryOptions,
  type ResourcePath,
} from './odata.js';
import { projectRow, rowMatches, runQuery, selectRows, type Graph, type Row } from './odata-eval.js';
import { empty, isObject, json, readJson, text, UNAUTHORIZED, type Reply, type SimContext } from './http.js';
import { ruleFor } from './permissions.js';
import { schemaOf, type ResourceSchema } from './schema.js';
import { ruleViolation } from './validate.js';

const NO_CACHE = { 'cache-control': 'no-cache' };

/** The reply to a request whose OData could not be served, or undefined for any other error. */
function odataFailure(err: unknown): Reply | undefined {
  if (err instanceof ODataSyntaxError) return text(400, `Malformed url: ${err.message}`);
  // Pine answers its own parsing failures (e.g. a bad %-escape) with a bare 500.
  if (err instanceof ODataParsingError) return empty(500);
  // Valid OData the real API would serve: say plainly that the simulator is what falls short.
  if (err instanceof ODataUnsupportedError) return text(501, `Not supported by the cloud simulator: ${err.message}`);
  return undefined;
}

function keyMatches(row: Row, key: ResourcePath['key']): boolean {
  if (key === undefined) return true;
  if (typeof key !== 'object' || key === null) return row['id'] === key;
  return Object.entries(key).every(([field, value]) => row[field] === value);
}

function targetRows(graph: Graph, resource: string, rows: readonly Row[], path: ResourcePath, options: QueryOptions): Row[] {
  return rows.filter((row) => keyMatches(row, path.key) && rowMatches(graph, resource, row, options.filter));
}

function uniqueMessage(schema: ResourceSchema): string {
  const fields = schema.unique ?? [];
  return fields.length === 1 ? `"${fields[0]}" must be unique.` : `${fields.map((f) => `"${f}"`).join(' and ')} must be unique.`;
}

function checkFields(schema: ResourceSchema, body: Record<string, unknown>): string | undefined {
  for (const field of Object.keys(body)) {
    const known = schema.fields.includes(field) || schema.navigation[field]?.kind === 'one';
    if (!known) return `Unknown field "${field}"`;
  }
  return undefined;
}

/** Handles one `/v7/...` request; `rest` is the path after `/v7/`. */
export async function handlePine(ctx: SimContext, rest: string): Promise<Reply> {
  let path: ResourcePath;
  let options: QueryOptions;
  try {
    ({ path, options } = parseRequest(rest, ctx.rawQuery));
  } catch (err) {
    const failure = odataFailure(err);
    if (failure === undefined) throw err;
    return failure;
  }
  const schema = schemaOf(path.resource);
  if (schema === undefined) return text(404, 'Not Found');
  try {
    switch (ctx.method) {
      case 'GET':
        return read(ctx, path, options);
      case 'POST':
        return await create(ctx, path.resource, schema);
      case 'PATCH':
      case 'PUT':
        return await update(ctx, path, options, schema);
      case 'DELETE':
        return remove(ctx, path, options);
      default:
        return text(405, 'Method Not Allowed');
    }
  } catch (err) {
    const failure = odataFailure(err);
    if (failure === undefined) throw err;
    return failure;
  }
}

function read(ctx: SimContext, path: ResourcePath, options: QueryOptions): Reply {
  const visible = ctx.store.visible(ctx.actor, path.resource, 'read');
  if (visible === null) return UNAUTHORIZED;
  const graph = ctx.store.graphFor(ctx.actor);
  const keyed = visible.filter((row) => keyMatches(row, path.key));
  if (path.count) {
    return json(200, { d: selectRows(graph, path.resource, keyed, options).length }, NO_CACHE);
  }
  return json(200, { d: runQuery(graph, path.resource, keyed, options) }, NO_CACHE);
}

async function create(ctx: SimContext, resource: string, schema: ResourceSchema): Promise<Reply> {
  const body = await readJson(ctx);
  if (!isObject(body)) return text(400, 'Body must be a JSON object');
  const unknown = checkFields(schema, body);
  if (unknown !== undefined) return text(400, unknown);
  const rule = ruleFor(ctx.actor, resource, 'create', (r, id) => ctx.store.find(r, id));
  if (rule === null) return UNAUTHORIZED;
  const row: Record<string, unknown> = { ...body };
  delete row['id'];
  for (const [field, nav] of Object.entries(schema.navigation)) {
    if (nav.kind !== 'one' || row[field] === undefined) continue;
    if (ctx.store.find(nav.target, row[field]) === undefined) return UNAUTHORIZED;
  }
  if (!rule(row)) return UNAUTHORIZED;
  const missing = schema.required.find((f) => row[f] === undefined || row[f] === null);
  if (missing !== undefined) return text(400, `It is necessary that each ${resource} has a ${missing}.`);
  if (ctx.store.clash(resource, row) !== undefined) return text(409, uniqueMessage(schema));
  const violation = ruleViolation(resource, row);
  if (violation !== undefined) return text(400, violation);
  const created = ctx.store.insert(resource, row);
  return json(201, projectRow(ctx.store.graphFor(ctx.actor), resource, created, {}));
}

async function update(ctx: SimContext, path: ResourcePath, options: QueryOptions, schema: ResourceSchema): Promise<Reply> {
  const body = await readJson(ctx);
  if (!isObject(body)) return text(400, 'Body must be a JSON object');
  const unknown = checkFields(schema, body);
  if (unknown !== undefined) return text(400, unknown);
  const rule = ruleFor(ctx.actor, path.resource, 'update', (r, id) => ctx.store.find(r, id));
  if (rule === null) return UNAUTHORIZED;
  const patch: Record<string, unknown> = { ...body };
  delete patch['id'];
  delete patch['created_at'];
  const graph = ctx.store.graphFor(ctx.actor);
  const rows = targetRows(graph, path.resource, ctx.store.table(path.resource).filter(rule), path, options);
  for (const row of rows) {
    const merged = { ...row, ...patch };
    if (!rule(merged)) return UNAUTHORIZED;
    if (ctx.store.clash(path.resource, merged, row['id']) !== undefined) return text(409, uniqueMessage(schema));
    const violation = ruleViolation(path.resource, merged);
    if (violation !== undefined) return text(400, violation);
  }
  for (const row of rows) ctx.store.update(path.resource, row['id'], patch);
  return empty(200);
}

function remove(ctx: SimContext, path: ResourcePath, options: QueryOptions): Reply {
  const rule = ruleFor(ctx.actor, path.resource, 'delete', (r, id) => ctx.store.find(r, id));
  if (rule === null) return UNAUTHORIZED;
  const graph = ctx.store.graphFor(ctx.actor);
  const rows = targetRows(graph, path.resource, ctx.store.table(path.resource).filter(rule), path, options);
  for (const row of rows) ctx.store.remove(path.resource, row['id']);
  return empty(200);
}
