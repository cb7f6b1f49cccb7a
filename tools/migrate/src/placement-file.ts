import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { type AppPlacement, type Migration, type Placement, parsePlacement } from "@infra/core";
import { parseDocument } from "yaml";

/**
 * The placement file as the migration keeps it: read anew before every change, and written whole
 * (aside, then renamed), comments kept, so that an interrupted write never leaves half a file and
 * every step's progress is on disk before the next begins.
 */
export class PlacementFile {
  constructor(readonly path: string) {}

  read(): Placement {
    return parsePlacement(readFileSync(this.path, "utf8"), this.path);
  }

  entry(app: string): AppPlacement {
    const entry = this.read()[app];
    if (!entry)
      throw new Error(`${this.path} places no app "${app}"; apps: ${Object.keys(this.read()).join(", ")}`);
    return entry;
  }

  /** Records the app's migration (its progress), or, without one, that the app is on `server`. */
  write(app: string, server: string, migration?: Migration): void {
    const document = parseDocument(readFileSync(this.path, "utf8"));
    document.setIn(["apps", app], migration ? document.createNode({ server, migration }) : server);
    const text = document.toString();
    // Validated before it replaces the file: a program must never read a placement it rejects.
    parsePlacement(text, this.path);
    const partial = `${this.path}.${process.pid}.partial`;
    writeFileSync(partial, text);
    renameSync(partial, this.path);
  }
}
