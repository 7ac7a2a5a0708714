// What `kubectl cp` reads and writes in a simulated container: files kept in memory, per pod.

/** Directories every container image has, so `kubectl cp f pod:/tmp` finds a directory there. */
const BASE_DIRS = ["/", "/tmp", "/root", "/home", "/etc", "/var", "/usr", "/bin", "/srv", "/opt"];

/** One pod's files by absolute path; a directory exists when made, in the image, or above a file. */
export class PodFiles {
  private readonly files = new Map<string, Uint8Array>();
  private readonly dirs = new Set(BASE_DIRS);

  mkdir(path: string): void {
    this.dirs.add(normalize(path));
  }

  isFile(path: string): boolean {
    return this.files.has(normalize(path));
  }

  isDir(path: string): boolean {
    const p = normalize(path);
    if (this.dirs.has(p)) return true;
    const prefix = `${p}/`;
    for (const f of this.files.keys()) if (f.startsWith(prefix)) return true;
    return false;
  }

  get(path: string): Uint8Array | undefined {
    return this.files.get(normalize(path));
  }

  set(path: string, data: Uint8Array): void {
    this.files.set(normalize(path), data);
  }

  /** The names directly inside directory `path` (files and directories), sorted. */
  list(path: string): string[] {
    const p = normalize(path);
    const prefix = p === "/" ? "/" : `${p}/`;
    const names = new Set<string>();
    for (const f of [...this.files.keys(), ...this.dirs])
      if (f.startsWith(prefix) && f.length > prefix.length) names.add(f.slice(prefix.length).split("/")[0]!);
    return [...names].sort();
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
