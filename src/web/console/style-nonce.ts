// The console's Content-Security-Policy allows styles from console.css and from <style>
// elements that carry this page's nonce (src/server/console/static-files.ts). The terminal
// (@xterm/xterm) makes <style> elements of its own for its colours and cell sizes; every
// <style> this document creates from now on is given the nonce the server put in the page.
// No other inline style is allowed: guest output cannot bring any.

export function markStylesWithNonce(): void {
  const nonce = document.querySelector<HTMLMetaElement>('meta[name="drawbridge-style-nonce"]')?.content;
  if (!nonce) return;
  const create = document.createElement.bind(document);
  document.createElement = ((tag: string, options?: ElementCreationOptions): HTMLElement => {
    const e = create(tag, options);
    if (tag.toLowerCase() === 'style') e.nonce = nonce;
    return e;
  }) as typeof document.createElement;
}
