// How kubectl should run this kubeport for credentials: the compiled binary itself, or Bun + the script.
import type { SelfCommand } from "../../lib/kubeconfig.ts";

/** `KUBEPORT_EXEC` (a path) overrides, e.g. for a kubeport installed elsewhere than the one running now. */
export function selfCommand(env: Record<string, string | undefined>): SelfCommand {
  if (env.KUBEPORT_EXEC) return { command: env.KUBEPORT_EXEC, args: [] };
  // A compiled binary runs from Bun's embedded file system; the binary is then process.execPath.
  if (Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:\\~BUN\\"))
    return { command: process.execPath, args: [] };
  return { command: process.execPath, args: [Bun.main] };
}
