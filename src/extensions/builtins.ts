// The extensions drawbridge ships, by the name `--ext NAME` and the manifest use.

import type { ExtensionFactory } from './api.ts';
import { createRecord } from './record.ts';
import { createRemap } from './remap.ts';
import { createReplay } from './replay.ts';
import { createTrace } from './trace.ts';

export const BUILTIN_EXTENSIONS: Readonly<Record<string, ExtensionFactory>> = {
  trace: createTrace,
  remap: (lower, options) => createRemap(lower, options),
  record: createRecord,
  replay: createReplay,
};
