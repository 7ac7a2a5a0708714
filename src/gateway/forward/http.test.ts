import { expect, test } from "bun:test";
import { forwardHttp } from "./http.ts";

test("a request takes the identity's prebuilt set or several groups, never one group without the set (tsc checks)", () => {
  // Never called: tsc (`npx tsc --noEmit -p .`) fails when an @ts-expect-error below stops being an error.
  const shapes = (request: Request, fixed: Headers) => {
    const base = { request, url: "https://127.0.0.1/api", headers: {}, tls: {} };
    void forwardHttp({ ...base, fixed });
    void forwardHttp({ ...base, groups: ["developers", "ops"] });
    // @ts-expect-error — without the prebuilt set, nothing carries the credential and the one group.
    void forwardHttp({ ...base });
    // @ts-expect-error — the set and the groups both: which of them goes?
    void forwardHttp({ ...base, fixed, groups: ["developers"] });
  };
  expect(typeof shapes).toBe("function");
});
