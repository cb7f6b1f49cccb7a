import type { Placement } from "@infra/core";
import { buildModel, explain, type HelmRelease, type ProjectObjects, stackObjects } from "./reachability";
import { redacted, redactSecrets } from "./secrets";
import type { StackSynth } from "./synth";
import { type ExampleValue, exampleText } from "./validate/config";

/** How one gateway of a project exposes it: the tailnet (internal class) or the internet (public). */
export interface ReportExposure {
  project: string;
  namespace: string;
  gateway: string;
  reach: "tailnet" | "public" | string;
  hostnames: string[];
}

/** One entry of an app's `backups` output. */
export interface ReportBackup {
  project: string;
  app: string;
  namespace: string;
  schedule: string;
  repository: string;
  retention: Record<string, unknown>;
  database?: string;
}

/** What report.html shows of a stack; built from synth's in-memory result. */
export interface StackPicture {
  stack: string;
  /** Projects in the order they ran, with their layer (longest reference chain below them). */
  layers: { project: string; layer: number; references: string[]; app: boolean }[];
  exposures: ReportExposure[];
  /** Namespaces, and per sender (namespace, `tailnet`, `world`) and receiving namespace the ports allowed. */
  reachability: {
    namespaces: string[];
    senders: string[];
    cells: Record<string, Record<string, string[]>>;
    /** Why the analysis could not answer (it refuses policies it cannot vouch for). */
    error?: string;
  };
  backups: ReportBackup[];
  /** Example values left in the descriptions and stack files, and example data synth used. */
  examples: { file: string; line: number; text: string }[];
  exampleData: string[];
}

const gatewayReach: Record<string, string> = { internal: "tailnet", public: "public" };

function layersOf(stack: StackSynth, placement: Placement | undefined) {
  const layer = new Map<string, number>();
  return stack.projects.map((project) => {
    const references = [...project.references].sort();
    const below = references.map((name) => layer.get(name) ?? 0);
    const depth = below.length === 0 ? 0 : Math.max(...below) + 1;
    layer.set(project.project, depth);
    return {
      project: project.project,
      layer: depth,
      references,
      app: placement?.[project.project]?.server === stack.stack,
    };
  });
}

/**
 * What each namespace's pods may reach in each other namespace, on the ports the receivers
 * listen on: the reachability analysis asked once per pod pair and container port.
 */
export function namespaceMatrix(
  manifests: Record<string, unknown>[],
  releases: HelmRelease[],
): StackPicture["reachability"] {
  const model = buildModel(manifests, { releases });
  const pods = model.endpoints.filter((endpoint) => endpoint.kind === "pod" && endpoint.namespace);
  const namespaces = [...new Set(pods.map((pod) => String(pod.namespace)))].sort();
  const hasRouter = model.endpoints.some((endpoint) => endpoint.subnetRouter);
  const senders: { name: string; group: string }[] = [
    ...pods.map((pod) => ({ name: pod.name, group: String(pod.namespace) })),
    ...(hasRouter ? [{ name: "tailnet", group: "tailnet" }] : []),
    { name: "world", group: "world" },
  ];
  const cells: Record<string, Record<string, string[]>> = {};
  for (const sender of senders) {
    for (const receiver of pods) {
      if (receiver.name === sender.name) continue;
      for (const port of receiver.ports) {
        const label = `${port.port}/${port.protocol}`;
        // A cell shows a port once: another pod pair allowed on it adds nothing.
        if (cells[sender.group]?.[String(receiver.namespace)]?.includes(label)) continue;
        const result = explain(model, {
          from: sender.name,
          to: receiver.name,
          port: port.port,
          protocol: port.protocol,
        });
        if (result.outcome === "denied") continue;
        const row = cells[sender.group] ?? {};
        cells[sender.group] = row;
        const ports = row[String(receiver.namespace)] ?? [];
        row[String(receiver.namespace)] = ports;
        ports.push(label);
      }
    }
  }
  for (const row of Object.values(cells)) {
    for (const ports of Object.values(row))
      ports.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  }
  const senderGroups = [...namespaces, ...(hasRouter ? ["tailnet"] : []), "world"];
  return { namespaces, senders: senderGroups, cells };
}

function reachabilityOrWhyNot(objects: ProjectObjects[]): StackPicture["reachability"] {
  try {
    return namespaceMatrix(
      objects.flatMap((project) => project.manifests),
      objects.flatMap((project) => project.releases),
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { namespaces: [], senders: [], cells: {}, error: message };
  }
}

function exposuresOf(objects: ProjectObjects[]): StackPicture["exposures"] {
  const exposures: ReportExposure[] = [];
  for (const project of objects) {
    for (const object of project.manifests as Record<string, any>[]) {
      if (object.kind !== "Gateway") continue;
      const listeners = (object.spec?.listeners ?? []) as Record<string, any>[];
      const className = String(object.spec?.gatewayClassName ?? "");
      exposures.push({
        project: project.project,
        namespace: String(object.metadata?.namespace ?? ""),
        gateway: String(object.metadata?.name ?? ""),
        reach: gatewayReach[className] ?? className,
        hostnames: [...new Set(listeners.map((listener) => listener.hostname).filter(Boolean))].map(String),
      });
    }
  }
  return exposures;
}

function backupsOf(stack: StackSynth): ReportBackup[] {
  return stack.projects.flatMap((project) => {
    const output = project.outputs.backups;
    if (!output || output.secret || !Array.isArray(output.value)) return [];
    return (redactSecrets(output.value) as Record<string, any>[]).map((entry) => ({
      project: project.project,
      app: String(entry.app ?? project.project),
      namespace: String(entry.namespace ?? ""),
      schedule: String(entry.schedule ?? ""),
      repository: String(entry.repository ?? ""),
      retention: (entry.retention ?? {}) as Record<string, unknown>,
      ...(entry.database ? { database: `${entry.database.kind} ${entry.database.name}` } : {}),
    }));
  });
}

/** Everything report.html shows of a stack. */
export function stackPicture(
  stack: StackSynth,
  examples: ExampleValue[],
  placement?: Placement,
): StackPicture {
  const objects = stackObjects(stack);
  return {
    stack: stack.stack,
    layers: layersOf(stack, placement),
    exposures: exposuresOf(objects),
    reachability: reachabilityOrWhyNot(objects),
    backups: backupsOf(stack),
    examples: examples.map((example) => ({
      file: example.file,
      line: example.line,
      text: exampleText(example),
    })),
    exampleData: [...new Set(stack.projects.flatMap((project) => project.examples))],
  };
}

function html(text: unknown): string {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

const boxWidth = 184;
const boxHeight = 46;
const columnGap = 60;
const rowGap = 14;

function diagram(picture: StackPicture): string {
  const columns = new Map<number, string[]>();
  for (const layer of picture.layers)
    columns.set(layer.layer, [...(columns.get(layer.layer) ?? []), layer.project]);
  const position = new Map<string, { x: number; y: number }>();
  for (const [column, projects] of columns) {
    projects.forEach((project, row) => {
      position.set(project, { x: 10 + column * (boxWidth + columnGap), y: 30 + row * (boxHeight + rowGap) });
    });
  }
  const width = 20 + columns.size * (boxWidth + columnGap);
  const height = 40 + Math.max(1, ...[...columns.values()].map((c) => c.length)) * (boxHeight + rowGap);
  const reach = new Map<string, Set<string>>();
  for (const exposure of picture.exposures) {
    reach.set(exposure.project, (reach.get(exposure.project) ?? new Set()).add(exposure.reach));
  }
  const edges = picture.layers.flatMap((layer) =>
    layer.references.flatMap((reference) => {
      const from = position.get(reference);
      const to = position.get(layer.project);
      if (!from || !to) return [];
      const x1 = from.x + boxWidth;
      const y1 = from.y + boxHeight / 2;
      const x2 = to.x;
      const y2 = to.y + boxHeight / 2;
      return [
        `<path class="edge" d="M${x1},${y1} C${x1 + columnGap / 2},${y1} ${x2 - columnGap / 2},${y2} ${x2},${y2}"/>`,
      ];
    }),
  );
  const heads = [...columns.keys()].map(
    (column) =>
      `<text class="head" x="${10 + column * (boxWidth + columnGap)}" y="18">layer ${column}</text>`,
  );
  const boxes = picture.layers.map((layer) => {
    const { x, y } = position.get(layer.project) ?? { x: 0, y: 0 };
    const badges = [...(reach.get(layer.project) ?? [])]
      .sort()
      .map(
        (kind, index) =>
          `<g class="badge ${html(kind)}"><rect x="${x + 8 + index * 58}" y="${y + 26}" width="52" height="14" rx="7"/>` +
          `<text x="${x + 34 + index * 58}" y="${y + 37}" text-anchor="middle">${html(kind)}</text></g>`,
      );
    return (
      `<g class="project${layer.app ? " app" : ""}" data-project="${html(layer.project)}"${layer.app ? ` data-app="${html(layer.project)}"` : ""}>` +
      `<title>${html(layer.project)}${layer.references.length ? ` reads ${html(layer.references.join(", "))}` : ""}</title>` +
      `<rect x="${x}" y="${y}" width="${boxWidth}" height="${boxHeight}" rx="6"/>` +
      `<text class="name" x="${x + 8}" y="${y + 17}">${html(layer.project)}${layer.app ? " (app)" : ""}</text>` +
      `${badges.join("")}</g>`
    );
  });
  return (
    `<svg id="layers" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `${heads.join("")}${edges.join("")}${boxes.join("")}</svg>`
  );
}

function table(headers: string[], rows: string[][], attributes: string[] = []): string {
  if (rows.length === 0) return "<p><em>none</em></p>";
  return (
    `<table><thead><tr>${headers.map((header) => `<th>${html(header)}</th>`).join("")}</tr></thead><tbody>` +
    rows
      .map(
        (row, index) =>
          `<tr${attributes[index] ?? ""}>${row.map((cell) => `<td>${cell}</td>`).join("")}</tr>`,
      )
      .join("") +
    "</tbody></table>"
  );
}

function matrix(picture: StackPicture): string {
  const { namespaces, senders, cells, error } = picture.reachability;
  if (error)
    return `<p class="error">The reachability analysis cannot answer for this stack: ${html(error)}</p>`;
  const header = `<tr><th>from \\ to</th>${namespaces.map((ns) => `<th class="to">${html(ns)}</th>`).join("")}</tr>`;
  const rows = senders.map((sender) => {
    const row = cells[sender] ?? {};
    const tds = namespaces.map((ns) => {
      const ports = row[ns];
      return ports
        ? `<td class="open" title="${html(`${sender} → ${ns}`)}">${html(ports.join(" "))}</td>`
        : "<td></td>";
    });
    return `<tr><th>${html(sender)}</th>${tds.join("")}</tr>`;
  });
  return `<table class="matrix">${header}${rows.join("")}</table>`;
}

const style = `
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{margin-bottom:0}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
.matrix td,.matrix th{font-size:12px}.matrix td.open{background:#fde9c8}.matrix th.to{writing-mode:vertical-rl}
svg .edge{fill:none;stroke:#889;stroke-opacity:.45}
svg .project rect{fill:#eef2f7;stroke:#557}svg .project.app rect{fill:#e6f4e6;stroke:#363}
svg .name{font-weight:600;font-size:13px}svg .head{font-size:12px;fill:#666}
svg .badge text{font-size:10px;fill:#fff}svg .badge.tailnet rect{fill:#3b6fb6}svg .badge.public rect{fill:#c0392b}
.badge-inline{color:#fff;border-radius:7px;padding:0 6px;font-size:11px}.badge-inline.tailnet{background:#3b6fb6}.badge-inline.public{background:#c0392b}
code{font-size:12px}
`;

// Runs in the browser: marks the page rendered (or failed) so a headless test can tell.
const script = `
window.onerror=function(message){document.documentElement.setAttribute("data-error",String(message));};
(function(){
  var apps=document.querySelectorAll("#layers [data-app]");
  var list=document.getElementById("app-list");
  if(apps.length===0){var none=document.createElement("li");none.textContent="none";list.appendChild(none);}
  for(var i=0;i<apps.length;i++){var li=document.createElement("li");li.setAttribute("data-rendered-app",apps[i].getAttribute("data-app"));li.textContent=apps[i].getAttribute("data-app");list.appendChild(li);}
  document.documentElement.setAttribute("data-status","rendered");
})();
`;

/** report.html for a stack: one self-contained file (inline CSS, SVG and script, no URLs). */
export function renderReportHtml(picture: StackPicture): string {
  const apps = picture.layers.filter((layer) => layer.app).map((layer) => layer.project);
  const exposures = table(
    ["project", "namespace", "gateway", "reach", "hostnames"],
    picture.exposures.map((exposure) => [
      html(exposure.project),
      html(exposure.namespace),
      html(exposure.gateway),
      `<span class="badge-inline ${html(exposure.reach)}">${html(exposure.reach)}</span>`,
      html(exposure.hostnames.join(", ")),
    ]),
  );
  const backups = table(
    ["app", "namespace", "schedule", "repository", "retention", "database"],
    picture.backups.map((backup) => [
      html(backup.app),
      html(backup.namespace),
      `<code>${html(backup.schedule)}</code>`,
      `<code>${html(backup.repository)}</code>`,
      html(
        Object.entries(backup.retention)
          .map(([key, value]) => `${key} ${value}`)
          .join(", "),
      ),
      html(backup.database ?? ""),
    ]),
    picture.backups.map((backup) => ` data-backup="${html(backup.app)}"`),
  );
  const examples = table(
    ["file", "line", "to replace"],
    picture.examples.map((example) => [html(example.file), String(example.line), html(example.text)]),
  );
  const exampleData = picture.exampleData.length
    ? `<ul>${picture.exampleData.map((note) => `<li>${html(note)}</li>`).join("")}</ul>`
    : "<p><em>none</em></p>";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(picture.stack)}: synth report</title>
<style>${style}</style></head>
<body>
<h1>${html(picture.stack)}</h1>
<p>${picture.layers.length} projects in ${new Set(picture.layers.map((l) => l.layer)).size} layers; apps: ${html(apps.join(", ") || "none")}. Rendered by synth from the stack's files (secrets show as <code>${html(redacted)}</code>).</p>
<h2>Layers and apps</h2>
<p>Each project reads the ones left of it (StackReferences); badges show its exposures:
<span class="badge-inline tailnet">tailnet</span> through the internal gateway, <span class="badge-inline public">public</span> through Cloudflare.</p>
${diagram(picture)}
<h3>Apps</h3><ul id="app-list"></ul>
<h2>Exposures</h2>
${exposures}
<h2>Reachability between namespaces</h2>
<p>Ports on which some pod of a row may reach some pod of a column under the Cilium policies (the reachability analysis; <code>tailnet</code> is traffic through the Tailscale router, <code>world</code> the internet).</p>
${matrix(picture)}
<h2>Backups</h2>
${backups}
<h2>EXAMPLE values to replace</h2>
${examples}
<h3>Example data synth used</h3>
${exampleData}
<script>${script}</script>
</body></html>
`;
}
