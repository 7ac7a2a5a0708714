// What `kubectl cp` reads and writes in a simulated container: files kept in memory, per pod.

/** One pod's files by absolute path (directories are implied by the paths under them). */
export class PodFiles {
  private readonly files = new Map<string, Uint8Array>();

  get(path: string): Uint8Array | undefined {
    return this.files.get(normalize(path));
  }

  set(path: string, data: Uint8Array): void {
    this.files.set(normalize(path), data);
  }

  /** `path` itself when it is a file, else every file below it as a directory; sorted. */
  under(path: string): [string, Uint8Array][] {
    const p = normalize(path);
    const own = this.files.get(p);
    if (own) return [[p, own]];
    const dir = p === "/" ? "/" : `${p}/`;
    return [...this.files].filter(([f]) => f.startsWith(dir)).sort(([a], [b]) => a.localeCompare(b));
  }
}

/** Every pod's files, created on first use (pods start with an empty filesystem). */
export class PodFileSystems {
  private readonly pods = new Map<string, PodFiles>();

  of(namespace: string, pod: string): PodFiles {
    const key = `${namespace}/${pod}`;
    let files = this.pods.get(key);
    if (!files) {
      files = new PodFiles();
      this.pods.set(key, files);
    }
    return files;
  }
}

/** An absolute path without `.`/`..` segments or repeated slashes (relative paths start at `/`). */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}
