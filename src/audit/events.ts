// Audit event names, codes and fields: Teleport's where Teleport has them (lib/events/codes.go,
// api/types/events), so a SIEM rule written for Teleport's audit log reads kubeport's.

/** One event type: Teleport's `event` name and `code` (T… codes are Teleport's, K… kubeport's own). */
export interface EventType {
  readonly event: string;
  readonly code: string;
}

export const KUBE_REQUEST = { event: "kube.request", code: "T3009I" } as const;
/** A request refused for who sent it: no valid token (401) or no access (403). Teleport's AuthAttempt failure. */
export const AUTH_FAILURE = { event: "auth", code: "T3007W" } as const;
export const SESSION_START = { event: "session.start", code: "T2000I" } as const;
export const RESIZE = { event: "resize", code: "T2002I" } as const;
export const SESSION_END = { event: "session.end", code: "T2004I" } as const;
export const SESSION_DATA = { event: "session.data", code: "T2006I" } as const;
export const EXEC = { event: "exec", code: "T3002I" } as const;
export const EXEC_FAILURE = { event: "exec", code: "T3002E" } as const;
export const PORT_FORWARD = { event: "port", code: "T3003I" } as const;
export const PORT_FORWARD_STOP = { event: "port", code: "T3003S" } as const;
/** The gateway ended a connection (token expiry, user removed, access removed, a lock). */
export const CLIENT_DISCONNECT = { event: "client.disconnect", code: "T3006I" } as const;
/** kubeport's own: a recording stopped at its size cap (the session goes on). */
export const RECORDING_LIMIT = { event: "session.recording", code: "K2010W" } as const;
/** kubeport's own: the recording store failed (best_effort: the session goes on; strict: it ends). */
export const RECORDING_FAILURE = { event: "session.recording", code: "K2011E" } as const;

/** Someone read a session recording (the gateway's recordings API). */
export const RECORDING_ACCESS = { event: "session.recording.access", code: "T2012I" } as const;

/** Every type, for `ctl audit search --type` and the README's reference. */
export const EVENT_TYPES: readonly EventType[] = [
  KUBE_REQUEST,
  AUTH_FAILURE,
  SESSION_START,
  RESIZE,
  SESSION_DATA,
  SESSION_END,
  EXEC,
  EXEC_FAILURE,
  PORT_FORWARD,
  PORT_FORWARD_STOP,
  CLIENT_DISCONNECT,
  RECORDING_LIMIT,
  RECORDING_FAILURE,
  RECORDING_ACCESS,
];

/** Fields every event has. */
export interface EventBase {
  event: string;
  code: string;
  /** RFC 3339 with milliseconds. */
  time: string;
  /** Unique id of this event. */
  uid: string;
  /** The gateway that wrote it (kubeport.nodename). */
  server_hostname?: string;
  /** Refusals only: how many identical refusals (same identity, cluster and reason) this event stands for within one second. */
  count?: number;
}

/** Who and from where (Teleport's UserMetadata + ConnectionMetadata). */
export interface Caller {
  /** kubeport user, or the OIDC username with its prefix. Absent on a 401: nobody was authenticated. */
  user?: string;
  /** kubeport roles of the user. */
  roles?: string[];
  /** The token's `jti` (never the token). On a 401, as the refused token claims it. */
  token_id?: string;
  /** Client address (ip:port); X-Forwarded-For is believed only from proxy_service.trusted_proxies. */
  "addr.remote"?: string;
  proto?: "kube";
}

/** The cluster and the Kubernetes identity kubeport impersonated there. */
export interface KubeTarget {
  kubernetes_cluster?: string;
  kubernetes_users?: string[];
  kubernetes_groups?: string[];
}

/** One proxied API request (T3009I), or one the gateway answered itself (400, 404, 429, 502…). */
export interface KubeRequestEvent extends EventBase, Caller, KubeTarget {
  event: "kube.request";
  /** The path as the client sent it, still percent-encoded, without the query. */
  request_path: string;
  /** HTTP method, as Teleport records it. */
  verb: string;
  /** The Kubernetes verb (get, list, watch, create, patch, delete, …). */
  kube_verb?: string;
  response_code: number;
  /** "core/v1", "apps/v1", … */
  resource_api_group?: string;
  resource_namespace?: string;
  /** The resource (plural), as Teleport records it: "pods", "deployments". */
  resource_kind?: string;
  resource_name?: string;
  resource_subresource?: string;
  latency_ms?: number;
  bytes_out?: number;
  /** kubectl's `Kubectl-Command` header. */
  kubectl_command?: string;
  /** When the gateway answered: why (the message the client got). */
  error?: string;
  /** When the gateway answered: a short class of `error` (bad_request, not_found, user_rate, …). */
  reason?: string;
}

/** A request refused for its credentials (401) or access (403): Teleport's `auth` failure. */
export interface AuthFailureEvent extends EventBase, Caller, KubeTarget {
  event: "auth";
  success: false;
  /** The message the client got. */
  error: string;
  /** expired, unknown_key, bad_signature, malformed, no_token … (401); role, lock, no_roles … (403). */
  reason: string;
  /** 403: the role or lock that refused (`role/NAME`, `lock/NAME`). */
  denied_by?: string;
  response_code: 401 | 403;
  request_path: string;
  verb: string;
}

/** Pod fields of session events (Teleport's KubernetesPodMetadata). */
export interface PodTarget {
  kubernetes_pod_name: string;
  kubernetes_pod_namespace: string;
  kubernetes_container_name?: string;
}

/** Fields of every event of one exec/attach/port-forward session. */
export interface SessionFields extends EventBase, Caller, KubeTarget, PodTarget {
  /** Session id: shared by every event of the session and the name of its recording. */
  sid: string;
  /** Event index within the session: 0 for session.start, then 1, 2, … in the order written. */
  ei: number;
}

export interface SessionStartEvent extends SessionFields {
  event: "session.start";
  /** exec, attach. */
  session_type: "exec" | "attach";
  initial_command?: string[];
  /** A TTY session (kubectl -t). */
  interactive: boolean;
  /** "W:H" once known (Teleport's format). */
  size?: string;
  /** off, best_effort or strict. */
  session_recording: string;
}

export interface ResizeEvent extends SessionFields {
  event: "resize";
  /** "W:H". */
  size: string;
}

export interface ExecEvent extends SessionFields {
  event: "exec";
  command: string;
  /** Teleport writes these as strings. */
  exitCode: string;
  exitError?: string;
}

export interface SessionDataEvent extends SessionFields {
  event: "session.data";
  /** Bytes the user sent to the pod. */
  tx: number;
  /** Bytes the pod sent to the user. */
  rx: number;
}

export interface SessionEndEvent extends SessionFields {
  event: "session.end";
  session_type: "exec" | "attach";
  interactive: boolean;
  participants: string[];
  session_start: string;
  session_stop: string;
  initial_command?: string[];
  session_recording: string;
  duration_ms: number;
  /** The gateway ended it (token expired, user removed, a lock …); absent when a side closed it. */
  ended_by?: string;
}

export interface PortForwardEvent extends SessionFields {
  event: "port";
  /** T3003S: bytes each way and how long. */
  tx?: number;
  rx?: number;
  duration_ms?: number;
  ended_by?: string;
}

export interface ClientDisconnectEvent extends SessionFields {
  event: "client.disconnect";
  reason: string;
}

export interface RecordingEvent extends SessionFields {
  event: "session.recording";
  /** What happened: the cap was reached, or the store failed. */
  message: string;
  /** Bytes recorded when it stopped. */
  bytes?: number;
}

export type SessionEvent =
  | SessionStartEvent
  | ResizeEvent
  | ExecEvent
  | SessionDataEvent
  | SessionEndEvent
  | PortForwardEvent
  | ClientDisconnectEvent
  | RecordingEvent;

/** A recording was read (T2012I): `user` read the session `sid` of `session_user`. */
export interface RecordingAccessEvent extends EventBase, Caller {
  event: "session.recording.access";
  sid: string;
  session_user: string;
  kubernetes_cluster: string;
}

export type AuditEvent = KubeRequestEvent | AuthFailureEvent | SessionEvent | RecordingAccessEvent;

/** The registry stream the gateway writes and `ctl audit` reads. */
export const AUDIT_STREAM = "audit";
