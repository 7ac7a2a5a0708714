// Files the console embeds with `import path from "…" with { type: "file" }` (Bun: a path Bun.file reads, also in the compiled binary).
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*/play.js" {
  const path: string;
  export default path;
}
declare module "asciinema-player/dist/bundle/asciinema-player.min.js" {
  const path: string;
  export default path;
}
