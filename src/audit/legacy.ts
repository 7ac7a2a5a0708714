// Audit entries written before the Teleport-named events (kubeport ≤ the issue 11 change): `{type:
// "request", …}` and `{type: "session", phase, …}`. They stay in the stream until retention takes
// them; readers turn them into the current shape (what is known of it) so tail, search and the
// console show and find them like any other event.
import { KUBE_REQUEST, PORT_FORWARD, PORT_FORWARD_STOP, SESSION_END, SESSION_START } from "./events.ts";

type Old = Record<string, unknown>;

const str = (v: unknown) => (typeof v === "string" ? v : undefined);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
/** `o` without the keys whose value is undefined. */
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** True for an entry of the old shape. */
export function isLegacyEntry(raw: unknown): raw is Old {
  if (typeof raw !== "object" || raw === null || "event" in raw) return false;
  const t = (raw as Old).type;
  return t === "request" || t === "session";
}

/**
 * An old-shape entry as the current event it stands for, with `legacy: true` (the fields it never
 * had — sid, request_path, addr.remote … — stay absent); any other entry as it is.
 */
export function upgradeEntry(raw: unknown): unknown {
  if (!isLegacyEntry(raw)) return raw;
  const common = {
    time: str(raw.time),
    user: str(raw.user),
    ...(Array.isArray(raw.roles) ? { roles: raw.roles } : {}),
    kubernetes_cluster: str(raw.cluster),
    legacy: true,
  };
  if (raw.type === "request")
    return defined({
      ...KUBE_REQUEST,
      ...common,
      kube_verb: str(raw.verb),
      resource_kind: str(raw.resource),
      resource_subresource: str(raw.subresource),
      resource_namespace: str(raw.namespace),
      resource_name: str(raw.name),
      response_code: num(raw.status),
      latency_ms: num(raw.latency_ms),
      bytes_out: num(raw.bytes_out),
      kubectl_command: str(raw.kubectl_command),
    });
  const port = raw.kind === "portforward";
  const start = raw.phase === "start";
  const type = port ? (start ? PORT_FORWARD : PORT_FORWARD_STOP) : start ? SESSION_START : SESSION_END;
  const command = Array.isArray(raw.command) ? raw.command.filter((c) => typeof c === "string") : undefined;
  return defined({
    ...type,
    ...common,
    session_type: port ? undefined : str(raw.kind),
    kubernetes_pod_namespace: str(raw.namespace) ?? "",
    kubernetes_pod_name: str(raw.pod) ?? "",
    kubernetes_container_name: str(raw.container),
    initial_command: command?.length ? command : undefined,
    ...(start
      ? {}
      : {
          tx: num(raw.bytes_in),
          rx: num(raw.bytes_out),
          exitCode: num(raw.exit_code) === undefined ? undefined : String(raw.exit_code),
          duration_ms: num(raw.duration_ms),
          ended_by: str(raw.ended_by),
        }),
  });
}
