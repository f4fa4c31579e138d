/** Raw tRPC-over-HTTP calls, exactly as curl or a non-TS client would make them. */

export interface CallResult<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body. */
  body: any;
  /** `result.data` on success. */
  data: T;
  /** `error` on failure (code, message, data.appCode, ...). */
  error?: {
    code: number;
    message: string;
    data: {
      code: string;
      httpStatus: number;
      appCode: string;
      retryAfter?: number;
      reason?: string;
      field?: string;
      path?: string;
      stack?: unknown;
    };
  };
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
}

async function parse<T>(res: Response): Promise<CallResult<T>> {
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, data: body?.result?.data, error: body?.error };
}

function headers(opts: CallOptions, json: boolean): Record<string, string> {
  return {
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...opts.headers,
  };
}

export async function mutation<T = any>(
  baseUrl: string,
  path: string,
  input?: unknown,
  opts: CallOptions = {},
): Promise<CallResult<T>> {
  const res = await fetch(`${baseUrl}/trpc/${path}`, {
    method: 'POST',
    headers: headers(opts, true),
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  return parse<T>(res);
}

export async function query<T = any>(
  baseUrl: string,
  path: string,
  input?: unknown,
  opts: CallOptions = {},
): Promise<CallResult<T>> {
  const qs = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const res = await fetch(`${baseUrl}/trpc/${path}${qs}`, { headers: headers(opts, false) });
  return parse<T>(res);
}
