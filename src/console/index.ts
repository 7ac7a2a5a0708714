// The web console, mounted by the gateway at /web (composed by the CLI: the gateway never imports it).
export { type ConsoleEnv, type ConsoleOptions, createConsole, isAuditor } from "./console.tsx";
