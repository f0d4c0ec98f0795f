import { timingSafeEqual } from 'node:crypto';
import type { DashboardAuth } from './options.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * An `auth` hook for HTTP Basic authentication: lets in requests with this user name and
 * password, and answers others 401 with a `WWW-Authenticate` challenge, so browsers ask for them.
 * Use it over HTTPS (a reverse proxy) or on 127.0.0.1 only: Basic sends the password in clear.
 */
export function basicAuth(credentials: { readonly username: string; readonly password: string; readonly realm?: string }): DashboardAuth {
  const realm = (credentials.realm ?? 'tsbatch').replace(/["\\]/g, '');
  return (request) => {
    const header = request.headers.get('authorization') ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (match) {
      const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0 && same(decoded.slice(0, colon), credentials.username) && same(decoded.slice(colon + 1), credentials.password)) return true;
    }
    return new Response(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'Authentication is required to use this dashboard.' } }), {
      status: 401,
      headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` },
    });
  };
}
