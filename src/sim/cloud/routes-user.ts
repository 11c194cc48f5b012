/** Login and identity routes the balena SDK uses: `/login_`, `/actor/v1/whoami`, `/user/v1/*`. */
import { randomBytes } from 'node:crypto';
import { isObject, json, readJson, text, UNAUTHORIZED, type Reply, type SimContext } from './http.js';

const ACTOR_BASE_USER = 1000;
const ACTOR_BASE_DEVICE = 100_000;

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Issues a session token shaped like the real API's JWT (the SDK decodes it; nobody verifies it). */
function issueToken(ctx: SimContext, user: { id: number; username: string; email: string }): string {
  const iat = Math.floor(ctx.clock.wall() / 1000);
  const payload = { id: user.id, actorId: ACTOR_BASE_USER + user.id, username: user.username, email: user.email, iat, exp: iat + 7 * 24 * 3600 };
  const token = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.${randomBytes(24).toString('base64url')}`;
  ctx.store.addSession(token, user.id);
  return token;
}

/** `POST /login_` with `{username: email-or-username, password}` → the token as text. */
export async function login(ctx: SimContext): Promise<Reply> {
  const body = await readJson(ctx);
  if (isObject(body)) ctx.body = { ...body, password: '[redacted]' };
  if (!isObject(body) || typeof body['username'] !== 'string') return text(401, 'Unauthorized');
  const password = body['password'];
  if (typeof password !== 'string' && typeof password !== 'number') return text(401, 'Unauthorized');
  const user = ctx.store.userByLogin(body['username'], String(password));
  if (user === undefined) return text(401, 'Unauthorized');
  return text(200, issueToken(ctx, user));
}

/** `GET /user/v1/refresh-token`: a fresh token for a logged-in user. */
export function refreshToken(ctx: SimContext): Reply {
  if (ctx.actor?.kind !== 'user') return UNAUTHORIZED;
  const user = ctx.store.user(ctx.actor.userId);
  return user === undefined ? UNAUTHORIZED : text(200, issueToken(ctx, user));
}

/** `GET /actor/v1/whoami`: who the credential is, user or device. */
export function actorWhoami(ctx: SimContext): Reply {
  const actor = ctx.actor;
  if (actor === undefined) return UNAUTHORIZED;
  if (actor.kind === 'device') {
    return json(200, { id: ACTOR_BASE_DEVICE + actor.deviceId, actorType: 'device', actorTypeId: actor.deviceId, uuid: actor.uuid });
  }
  const user = ctx.store.user(actor.userId);
  if (user === undefined) return UNAUTHORIZED;
  return json(200, { id: ACTOR_BASE_USER + user.id, actorType: 'user', actorTypeId: user.id, username: user.username, email: user.email });
}

/** `GET /user/v1/whoami`: the user behind the credential (a device key gets 401). */
export function userWhoami(ctx: SimContext): Reply {
  if (ctx.actor?.kind !== 'user') return UNAUTHORIZED;
  const user = ctx.store.user(ctx.actor.userId);
  return user === undefined ? UNAUTHORIZED : json(200, { id: user.id, username: user.username, email: user.email });
}
