import { describe, expect, test } from "bun:test";
import { type RecordMode, sessionRecordingMode } from "./recording-mode.ts";

describe("sessionRecordingMode: the strictest of the granting roles, each unset one counting as the config's", () => {
  test.each<[RecordMode, (RecordMode | undefined)[] | undefined, RecordMode, string]>([
    ["best_effort", undefined, "best_effort", "audit.record_session"],
    ["off", [undefined, undefined], "off", "audit.record_session"],
    ["off", [undefined, "best_effort"], "best_effort", 'role "b" options.record_session'],
    ["best_effort", ["strict", undefined], "strict", 'role "a" options.record_session'],
    ["best_effort", ["off", undefined], "best_effort", "audit.record_session"],
    ["best_effort", ["off", "off"], "off", 'role "a" options.record_session'],
    ["strict", ["off", "best_effort"], "best_effort", 'role "b" options.record_session'],
    ["strict", ["strict", undefined], "strict", "audit.record_session"],
  ])("config %s, roles a, b saying %p → %s (set by %s)", (configured, modes, mode, setBy) => {
    expect(
      sessionRecordingMode(configured, { roles: ["a", "b"], ...(modes ? { recordSession: modes } : {}) }),
    ).toEqual({ mode, setBy });
  });
});
