/** @jsxImportSource hono/jsx */
// Clusters the person may reach: labels, health, and a Connect dialog with the exact commands.
import type { ClusterHealth } from "../../gateway/index.ts";
import { Command, Page, type Viewer } from "../layout.tsx";

export interface ClusterRow {
  name: string;
  labels: Record<string, string>;
  health?: ClusterHealth;
}

/** What the Connect dialog shows for this person (Teleport's ConnectDialog, with kubeport's commands). */
export interface ConnectInfo {
  /** `kubeport login …` for this person: --auth=local --user=NAME for local users; the proxy alone for SSO. */
  loginCommand: string;
}

function HealthCell({ h }: { h?: ClusterHealth }) {
  if (!h) return <span class="status-unknown">not checked yet</span>;
  if (h.status === "ok") return <span class="status-ok">healthy</span>;
  return (
    <span class="status-bad">
      {h.status}
      {h.error ? `: ${h.error}` : ""}
    </span>
  );
}

export function ClustersPage({
  viewer,
  clusters,
  connect,
}: {
  viewer: Viewer;
  clusters: ClusterRow[];
  connect: ConnectInfo;
}) {
  return (
    <Page title="Clusters" viewer={viewer} section="clusters">
      <h1>Kubernetes clusters</h1>
      {clusters.length === 0 ? (
        <p class="notice">
          Your roles reach no cluster this gateway serves. Ask your administrator for access.
        </p>
      ) : (
        <>
          <p>
            Clusters you may reach. <a href="/web/kubeconfig">Download a kubeconfig for all of them</a> (it
            asks kubeport for credentials, so install kubeport and sign in first).
          </p>
          <div class="table-wrap">
            <table class="cluster-table stack">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Labels</th>
                  <th scope="col">Health</th>
                  <th scope="col">
                    <span class="skip">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {clusters.map((c, i) => (
                  <tr>
                    <th scope="row" data-label="Name">
                      {c.name}
                    </th>
                    <td data-label="Labels">
                      <span class="labels">
                        {Object.entries(c.labels)
                          .filter(([k]) => !k.startsWith("kubeport.dev/"))
                          .sort(([a], [b]) => a.localeCompare(b))
                          .map(([k, v]) => (
                            <span class="label">{`${k}=${v}`}</span>
                          ))}
                      </span>
                    </td>
                    <td data-label="Health">
                      <HealthCell h={c.health} />
                    </td>
                    <td>
                      <button type="button" popovertarget={`connect-${i}`} aria-haspopup="dialog">
                        Connect<span class="skip"> to {c.name}</span>
                      </button>
                      <div
                        id={`connect-${i}`}
                        popover="auto"
                        role="dialog"
                        aria-labelledby={`connect-${i}-title`}
                      >
                        <h2 id={`connect-${i}-title`}>Connect to Kubernetes cluster {c.name}</h2>
                        <p>1. Sign in to kubeport from your terminal:</p>
                        <Command text={connect.loginCommand} />
                        <p>2. Select the cluster (writes its context into your kubeconfig):</p>
                        <Command text={`kubeport kube login ${c.name}`} />
                        <p>3. Use kubectl:</p>
                        <Command text="kubectl get pods" />
                        <p>
                          Or{" "}
                          <a href={`/web/kubeconfig?cluster=${encodeURIComponent(c.name)}`}>
                            download a kubeconfig
                          </a>{" "}
                          for this cluster.
                        </p>
                        <div class="actions">
                          <button
                            type="button"
                            class="secondary"
                            popovertarget={`connect-${i}`}
                            popovertargetaction="hide"
                          >
                            Close
                          </button>
                        </div>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Page>
  );
}
