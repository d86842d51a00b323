// `NAME[:OPTIONS]` as `--ext` takes it: OPTIONS is `key=value` pairs joined by commas
// (trace:format=json,file=/tmp/t.log). A value runs to the next comma; a key is everything
// before the first "=" of its pair, so remap rules read naturally (remap:/etc=/tenant/etc).
// NAME may be a built-in name, a file path or a package name; a path containing ":" (rare)
// can be given through the manifest instead.

import { ExtensionError, type ExtensionOptions } from './api.ts';

export interface ExtensionRequest {
  /** A built-in name, a path to a module, or an installed package name. */
  name: string;
  options: ExtensionOptions;
}

export function parseExtensionArg(text: string): ExtensionRequest {
  // A Windows drive or a scheme is not supported in NAME: the first ":" ends it.
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  if (name === '') throw new ExtensionError(`--ext needs a name: --ext NAME[:key=value,...], got "${text}"`);
  const options: Record<string, string> = {};
  if (colon >= 0) {
    for (const pair of text.slice(colon + 1).split(',')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new ExtensionError(`--ext ${name}: option "${pair}" is not key=value`);
      const key = pair.slice(0, eq);
      if (key in options) throw new ExtensionError(`--ext ${name}: option "${key}" given twice`);
      options[key] = pair.slice(eq + 1);
    }
  }
  return { name, options };
}
