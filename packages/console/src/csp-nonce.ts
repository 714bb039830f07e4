// The server puts this response's CSP nonce in <meta name="csp-nonce">. Ant Design's CSS-in-JS
// takes it from ConfigProvider; a few rc-component helpers (scrollbar measurement, the modal
// scroll lock) create <style> elements without a way to pass one, so every <style> element the
// console's own code creates gets it here. Markup injected as HTML still cannot add styles.
const meta = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
export const cspNonce: string | undefined = meta && !meta.startsWith('__') ? meta : undefined;

if (cspNonce) {
  const create = document.createElement.bind(document) as (tag: string, options?: ElementCreationOptions) => HTMLElement;
  const withNonce = (tag: string, options?: ElementCreationOptions): HTMLElement => {
    const el = create(tag, options);
    if (tag.toLowerCase() === 'style') el.setAttribute('nonce', cspNonce);
    return el;
  };
  document.createElement = withNonce as typeof document.createElement;
}
