// The query string read the way the API server reads it (Go's url.ParseQuery, Go ≥ 1.17), once per
// request: the verb (list or watch) is decided from this reading, and upstream is sent only the
// pairs in it, byte for byte, so the gateway and the API server cannot read two different queries.
// Before, the verb came from a looser reading: `?w%61tch=1` (Go decodes the name to watch) was a list
// here and a watch upstream; `?watch=1;` and `?watch=%zz` (pairs Go drops) were a watch here and a
// list upstream.

export interface ParsedQuery {
  /** Names and values as the API server has them: percent-decoded, "+" a space. */
  params: URLSearchParams;
  /** "" or "?…": only the pairs Go reads, each as the client wrote it. */
  search: string;
}

const EMPTY: ParsedQuery = { params: new URLSearchParams(), search: "" };

/**
 * Go's url.ParseQuery over `search` ("" or "?…"): pairs split on "&"; an empty pair, a pair holding
 * ";" and a pair whose name or value is not valid percent-encoding ("%" not followed by two hex
 * digits) are dropped; "+" is a space; a percent-escape is a byte (names and values are UTF-8
 * decoded here, as the API server's string comparisons see them).
 */
export function parseQuery(search: string): ParsedQuery {
  if (search.length < 2) return EMPTY;
  const params = new URLSearchParams();
  const kept: string[] = [];
  for (const pair of search.slice(1).split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    const name = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : queryUnescape(pair.slice(eq + 1));
    if (name === undefined || value === undefined) continue;
    params.append(name, value);
    kept.push(pair);
  }
  return { params, search: kept.length > 0 ? `?${kept.join("&")}` : "" };
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Go's QueryUnescape; undefined where Go returns an error. */
function queryUnescape(s: string): string | undefined {
  if (!s.includes("%") && !s.includes("+")) return s;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (c === "+") out.push(0x20);
    else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      out.push(...encoder.encode(String.fromCodePoint(cp)));
    }
  }
  return decoder.decode(new Uint8Array(out));
}
