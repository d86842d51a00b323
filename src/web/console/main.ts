// The web console of `drawbridge serve` (docs/serve.md, "The web console"): the login page, then
// the live view of the daemon's picoprocesses. Built by scripts/build-web.ts into
// dist/web/console.js and console.css; the daemon serves them at / (src/server/console/).
import '@xterm/xterm/css/xterm.css';
import './console.css';
import { api } from './api.ts';
import { showConsole } from './app.ts';
import { showLogin } from './login.ts';
import { markStylesWithNonce } from './style-nonce.ts';

markStylesWithNonce();

const root = document.createElement('div');
root.id = 'app';
document.body.append(root);

function loggedOut(note: string): void {
  showLogin(root, () => showConsole(root, loggedOut), note);
}

api('GET', '/v1/health').then(
  () => showConsole(root, loggedOut),
  () => loggedOut(''),
);
