// The map schema every file a person writes uses: unknown keys are problems (with a did-you-mean, see schema-problems.ts).
import * as v from "valibot";

/** A strict map: a list where a map belongs says so (valibot alone takes an array for an object). */
export const strictMap = <E extends v.ObjectEntries>(entries: E) =>
  v.pipe(
    v.custom<unknown>((x) => !Array.isArray(x), "must be a map, got a list"),
    v.strictObject(entries, (i) => `must be a map, got ${i.received}`),
  );
