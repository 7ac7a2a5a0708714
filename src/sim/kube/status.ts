// metav1.Status bodies and JSON responses, the way kube-apiserver renders errors.

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** A Failure Status object (also used on the exec status channel). */
export function failure(code: number, reason: string, message: string, details?: StatusDetails): KubeStatus {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** A JSON response with the given status code. */
export function json(body: unknown, status = 200, contentType = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": contentType } });
}

/** A Failure Status as an HTTP response. */
export function statusResponse(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Response {
  return json(failure(code, reason, message, details), code);
}

export const unauthorized = () => statusResponse(401, "Unauthorized", "Unauthorized");
export const badRequest = (message: string) => statusResponse(400, "BadRequest", message);
export const notFoundStatus = (resource: string, name: string) =>
  statusResponse(404, "NotFound", `${resource} "${name}" not found`, { name, kind: resource });
