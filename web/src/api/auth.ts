// Authentication API (/vigil/api/v1/me, /logout), docs/security.md.
import { getJSON, sendJSON } from './http';

export interface Me {
  user: string;
  role: string;
  scopes: string[];
  via: string;
  session_id?: string;
  csrf_token?: string;
  expires_at?: string;
}

export async function me(signal?: AbortSignal) {
  return getJSON<Me>('/vigil/api/v1/me', {}, signal);
}

export async function logout() {
  await sendJSON('POST', '/vigil/api/v1/logout');
}
