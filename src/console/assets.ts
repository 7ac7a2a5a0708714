// Static files under /web/assets/: the stylesheet, the player's bundle and the script that starts it.
import playerCss from "asciinema-player/dist/bundle/asciinema-player.css" with { type: "file" };
import playerJs from "asciinema-player/dist/bundle/asciinema-player.min.js" with { type: "file" };
import { Hono } from "hono";
import consoleCss from "./console.css" with { type: "file" };
import playJs from "./play.js" with { type: "file" };

const FILES: Record<string, { path: string; type: string }> = {
  "console.css": { path: consoleCss, type: "text/css; charset=utf-8" },
  "asciinema-player.css": { path: playerCss, type: "text/css; charset=utf-8" },
  "asciinema-player.min.js": { path: playerJs, type: "text/javascript; charset=utf-8" },
  "play.js": { path: playJs, type: "text/javascript; charset=utf-8" },
};

/** GET /web/assets/<name>: read once, then served from memory (an hour's cache; they change with the binary). */
export function assetRoutes(): Hono {
  const app = new Hono();
  const loaded = new Map<string, Promise<ArrayBuffer>>();
  app.get("/:name", async (c) => {
    const name = c.req.param("name");
    // Own keys only: /web/assets/constructor is not a file (it was Object's, and a 500).
    const f = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!f) return c.text("not found", 404);
    let body = loaded.get(name);
    if (!body) {
      body = Bun.file(f.path).arrayBuffer();
      loaded.set(name, body);
    }
    return c.body(await body, 200, { "content-type": f.type, "cache-control": "private, max-age=3600" });
  });
  return app;
}
