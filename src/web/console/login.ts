// The login page: the daemon's token, entered once, buys a session cookie (POST /v1/session).
import { el } from '../dom.ts';
import { api, ApiError } from './api.ts';

export function showLogin(root: HTMLElement, loggedIn: () => void, note = ''): void {
  const token = el('input', {
    type: 'password',
    id: 'token',
    name: 'token',
    autocomplete: 'current-password',
    required: '',
    placeholder: 'the daemon’s token',
  });
  const message = el('p', { class: 'error', role: 'alert' }, note);
  const form = el(
    'form',
    { class: 'login' },
    el('h1', {}, 'drawbridge'),
    el('p', { class: 'muted' }, 'Enter the token of this drawbridge serve (DRAWBRIDGE_TOKEN, or "token" in its connection file).'),
    el('label', { for: 'token' }, 'Token'),
    token,
    el('button', { type: 'submit' }, 'Log in'),
    message,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    message.textContent = '';
    api('POST', '/v1/session', { token: token.value }).then(
      () => loggedIn(),
      (err: unknown) => {
        message.textContent = err instanceof ApiError && err.status === 401 ? 'Wrong token.' : err instanceof Error ? err.message : String(err);
        token.select();
      },
    );
  });
  root.replaceChildren(form);
  token.focus();
}
