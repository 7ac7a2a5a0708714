// One session's audit trail: an interactive session's start carries the terminal size kubectl sends
// first (Teleport's session.start `size`), and nothing of the session is ever written before it.
import { describe, expect, test } from "bun:test";
import { RECORDING_FAILURE } from "../../audit/index.ts";
import type { AuditSink } from "../identity.ts";
import { type SessionFacts, sessionAudit } from "./session-audit.ts";

function sink() {
  const events: Record<string, unknown>[] = [];
  const s: AuditSink = {
    emit: (e) => void events.push(e as unknown as Record<string, unknown>),
    refuse: () => {},
  };
  return { s, events };
}

const facts = (tty: boolean): SessionFacts => ({
  sid: "0190f5c6-0000-7000-8000-000000000001",
  kind: "exec",
  identity: { user: "alice", roles: ["dev"], issuer: "kubeport" } as SessionFacts["identity"],
  grant: {
    kubernetesUsers: ["alice"],
    kubernetesGroups: ["developers"],
    roles: ["dev"],
  } as unknown as SessionFacts["grant"],
  cluster: "dev-a",
  namespace: "default",
  pod: "web-0",
  command: ["sh"],
  tty,
  recording: "best_effort",
});

const end = { tx: 1, rx: 2, durationMs: 5, exitCode: 0 };
const names = (events: Record<string, unknown>[]) =>
  events.map((e) => `${e.event}${e.size ? ` ${e.size}` : ""}`);

describe("sessionAudit", () => {
  test("interactive: the first size goes into session.start, later ones are resize events", () => {
    const { s, events } = sink();
    const a = sessionAudit(s, facts(true));
    a.start();
    expect(events).toEqual([]);
    a.resize(120, 40);
    a.resize(100, 30);
    a.end(end);
    expect(names(events)).toEqual([
      "session.start 120:40",
      "resize 100:30",
      "exec",
      "session.data",
      "session.end",
    ]);
    expect(events.map((e) => e.ei)).toEqual([0, 1, 2, 3, 4]);
  });

  test("interactive without a size: start is written at the wait's end, or before whatever comes first", async () => {
    const waited = sink();
    sessionAudit(waited.s, facts(true), { sizeWaitMs: 20 }).start();
    for (let i = 0; i < 100 && waited.events.length === 0; i++) await Bun.sleep(20);
    expect(names(waited.events)).toEqual(["session.start"]);

    const noted = sink();
    const a = sessionAudit(noted.s, facts(true));
    a.start();
    a.note(RECORDING_FAILURE, "store down");
    a.resize(80, 24);
    a.end(end);
    expect(names(noted.events)).toEqual([
      "session.start",
      "session.recording",
      "resize 80:24",
      "exec",
      "session.data",
      "session.end",
    ]);

    const ended = sink();
    const b = sessionAudit(ended.s, facts(true));
    b.start();
    b.end(end);
    expect(names(ended.events)).toEqual(["session.start", "exec", "session.data", "session.end"]);
  });

  test("session.start keeps the session's start time however late it is written", async () => {
    const { s, events } = sink();
    const a = sessionAudit(s, facts(true));
    const before = Date.now();
    a.start();
    await Bun.sleep(50);
    a.resize(80, 24);
    expect(Date.parse(events[0]!.time as string)).toBeLessThanOrEqual(before + 5);
  });

  test("non-interactive: start is written at once, without a size", () => {
    const { s, events } = sink();
    const a = sessionAudit(s, facts(false));
    a.start();
    expect(names(events)).toEqual(["session.start"]);
    a.resize(80, 24);
    expect(names(events)).toEqual(["session.start", "resize 80:24"]);
  });
});
