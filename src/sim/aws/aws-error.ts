// AwsError: one failure as AWS reports it, rendered in the EKS (REST-JSON) or STS (query/XML) shape.

export class AwsError extends Error {
  constructor(
    /** AWS error code, e.g. "ResourceNotFoundException" (EKS) or "AccessDenied" (STS). */
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra members of the JSON error body (EKS), e.g. clusterName. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
  /** STS `<Type>`: Receiver for 5xx, Sender otherwise. */
  get type(): "Sender" | "Receiver" {
    return this.status >= 500 ? "Receiver" : "Sender";
  }
}

export const requestId = () => crypto.randomUUID();

/** EKS REST-JSON error: `x-amzn-errortype` header plus `{"message": …}`. */
export function renderJsonError(err: AwsError, reqId: string): Response {
  // `__type` is what JSON 1.1 clients (Organizations) read; REST-JSON ones read the header.
  return new Response(JSON.stringify({ __type: err.code, message: err.message, ...err.extra }), {
    status: err.status,
    headers: {
      "content-type": "application/json",
      "x-amzn-errortype": `${err.code}:http://internal.amazon.com/coral/com.amazonaws.eks/`,
      "x-amzn-requestid": reqId,
    },
  });
}

export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] ?? c,
  );
}

/** STS query-protocol error, XML by default or JSON when the caller asked for it. */
export function renderStsError(err: AwsError, reqId: string, json = false): Response {
  if (json) {
    const body = { Error: { Code: err.code, Message: err.message, Type: err.type }, RequestId: reqId };
    return new Response(JSON.stringify(body), {
      status: err.status,
      headers: { "content-type": "application/json", "x-amzn-requestid": reqId },
    });
  }
  const xml =
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>${err.type}</Type>\n` +
    `    <Code>${xmlEscape(err.code)}</Code>\n    <Message>${xmlEscape(err.message)}</Message>\n  </Error>\n` +
    `  <RequestId>${reqId}</RequestId>\n</ErrorResponse>\n`;
  return new Response(xml, {
    status: err.status,
    headers: { "content-type": "text/xml", "x-amzn-requestid": reqId },
  });
}
