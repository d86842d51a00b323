// dns: through the host resolver (dns.lookup: getaddrinfo, as every native program resolves:
// /etc/hosts, then DNS). The answer is read as text, one address per line.

import { nodeDns } from '../lazy-builtins.ts';
import { DkError } from '../../../abi/errors.ts';
import { isIp } from '../../../abi/ip.ts';
import { ResolverStream } from '../../kernel/net/socket.ts';
import { dkErrorOfNode } from './errors.ts';

export function resolveName(name: string): ResolverStream {
  const s = new ResolverStream(`dns:${name}`);
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (isIp(bare)) {
    s.resolved([bare]);
    return s;
  }
  nodeDns().lookup(bare, { all: true, order: 'verbatim' }, (err, addresses) => {
    if (err) s.failed(dkErrorOfNode(err));
    else if (addresses.length === 0) s.failed(DkError.NOT_FOUND);
    else s.resolved([...new Set(addresses.map((a) => a.address))]);
  });
  return s;
}
