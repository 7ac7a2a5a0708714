// A strict reader of one JSON text that reports keys an object holds twice: JSON.parse keeps the
// last silently, while Elasticsearch and OpenSearch refuse such documents.

/** Paths of keys repeated within one object (e.g. `component`, `audit.user`); throws on invalid JSON. */
export function duplicateKeys(text: string): string[] {
  let i = 0;
  const dups: string[] = [];
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`invalid JSON at ${i}: ${what}`);
  };
  const str = (): string => {
    if (text[i] !== '"') fail("expected a string");
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
    if (j >= text.length) fail("unterminated string");
    const s = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return s;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) dups.push(path ? `${path}.${k}` : k);
        seen.add(k);
        ws();
        if (text[i++] !== ":") fail("expected :");
        value(path ? `${path}.${k}` : k);
        ws();
        const d = text[i++];
        if (d === "}") return;
        if (d !== ",") fail("expected , or }");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        const d = text[i++];
        if (d === "]") return;
        if (d !== ",") fail("expected , or ]");
      }
    }
    if (c === '"') return void str();
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) fail("expected a value");
    i += m![0].length;
  };
  value("");
  ws();
  if (i !== text.length) fail("trailing text");
  return dups;
}
