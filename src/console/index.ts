// The web console, mounted by the gateway at /web (composed by the CLI: the gateway never imports it).
export { type ConsoleEnv, createConsole } from "./console.tsx";
