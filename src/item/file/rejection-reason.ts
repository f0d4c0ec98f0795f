/**
 * A one-line reason for an error thrown by a user's `map` function, for a ParseError message. A
 * validation library's error (zod, or anything with an `issues` list of `{ path, message }`) is
 * summarised issue by issue ("age: Expected number, received string"), because its own message is
 * often a multi-line JSON dump that buries the field at fault.
 *
 * @internal
 */
export function rejectionReason(error: unknown): string {
  const issues = typeof error === 'object' && error !== null ? (error as { issues?: unknown }).issues : undefined;
  if (Array.isArray(issues) && issues.length > 0) {
    const parts: string[] = [];
    for (const issue of issues.slice(0, 5)) {
      if (typeof issue !== 'object' || issue === null) continue;
      const { path, message } = issue as { path?: unknown; message?: unknown };
      const where = Array.isArray(path) && path.length > 0 ? `${path.map((p) => String(p)).join('.')}: ` : '';
      parts.push(`${where}${typeof message === 'string' ? message : 'invalid'}`);
    }
    if (parts.length > 0) return parts.join('; ') + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : '');
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Cuts long input for an error message, so a corrupt multi-megabyte line does not flood the logs. @internal */
export function excerpt(text: string, max = 500): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
