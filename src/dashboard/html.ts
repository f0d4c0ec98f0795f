/**
 * A small HTML template tag: interpolated values are escaped unless they are themselves `Html`
 * (the result of another `html` call or of `raw`). Arrays are joined; null, undefined and
 * booleans render nothing, so `${cond && html`...`}` works.
 */
export class Html {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

export type HtmlChild = Html | string | number | boolean | null | undefined | readonly HtmlChild[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(child: HtmlChild): string {
  if (child === null || child === undefined || typeof child === 'boolean') return '';
  if (child instanceof Html) return child.value;
  if (typeof child === 'number') return String(child);
  if (typeof child === 'string') return escapeHtml(child);
  return child.map(render).join('');
}

export function html(strings: TemplateStringsArray, ...values: HtmlChild[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Trusted markup, inserted as is. */
export function raw(markup: string): Html {
  return new Html(markup);
}
