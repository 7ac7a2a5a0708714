// Pod logs: a few fixed lines, then with ?follow=true a new line every ~200 ms until the client goes away.
import type { LiveStreams } from "./live-streams.ts";
import type { KubeObject } from "./store.ts";

const FIXED = [
  "starting",
  "loaded configuration from /etc/app/config.yaml",
  "listening on :8080",
  "ready to serve requests",
  "GET /healthz 200",
];

/** The log response of one pod container (query: follow, tailLines, timestamps, previous). */
export function logResponse(
  pod: KubeObject,
  q: URLSearchParams,
  signal: AbortSignal,
  live?: LiveStreams,
  intervalMs = 200,
): Response {
  const name = pod.metadata.name as string;
  const stamps = q.get("timestamps") === "true";
  const line = (i: number, text: string) =>
    `${stamps ? `${new Date().toISOString()} ` : ""}[${name}] ${i} ${text}\n`;
  let fixed = FIXED.map((t, i) => line(i, t));
  const tail = q.get("tailLines");
  if (tail !== null && Number(tail) >= 0) fixed = Number(tail) === 0 ? [] : fixed.slice(-Number(tail));
  if (q.get("follow") !== "true")
    return new Response(fixed.join(""), { headers: { "Content-Type": "text/plain" } });

  const enc = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const counted = live?.open("logs");
      for (const l of fixed) controller.enqueue(enc.encode(l));
      let i = FIXED.length;
      const timer = setInterval(() => {
        try {
          controller.enqueue(enc.encode(line(i++, `tick at ${new Date().toISOString()}`)));
        } catch {
          stop();
        }
      }, intervalMs);
      stop = () => {
        if (closed) return;
        closed = true;
        counted?.();
        clearInterval(timer);
        signal.removeEventListener("abort", stop);
        try {
          controller.close();
        } catch {
          // the client already went away
        }
      };
      signal.addEventListener("abort", stop);
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, { headers: { "Content-Type": "text/plain", "Cache-Control": "no-cache" } });
}
