/** Percent-encodes everything but RFC 3986's unreserved characters (letters, digits, "-", ".", "_", "~"). */
export function encodeUrlComponent(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export interface ConnectionUrlArgs {
  /** `postgresql` or `mysql`. */
  scheme: string;
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
}

/**
 * `<scheme>://<user>:<password>@<host>:<port>/<database>`, with user, password and database
 * percent-encoded, so any character survives a URL parser (libpq, drivers, `new URL`).
 */
export function connectionUrl(args: ConnectionUrlArgs): string {
  const credentials = `${encodeUrlComponent(args.user)}:${encodeUrlComponent(args.password)}`;
  return `${args.scheme}://${credentials}@${args.host}:${args.port}/${encodeUrlComponent(args.database)}`;
}
