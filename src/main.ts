// kubeport entry point: argv → cli.
// @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill when it loads. In the compiled
// bundle, ES modules are hoisted ahead of a CommonJS side-effect import made deeper down, so the
// polyfill is loaded here first and the CLI (and everything it pulls in) only after it.
import "reflect-metadata";

const { runCli } = await import("./cli/index.ts");
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Exit even if a stray handle would keep the loop alive; output has had time to drain.
setTimeout(() => process.exit(code), 1000).unref();
