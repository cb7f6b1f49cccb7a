import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { repositoryRoot } from "@infra/core";
import type { Ask, Question } from "../ask";
import { type Io, run } from "../program";

/**
 * A temporary copy of what the tool reads: servers/, the Terraform templates, the placement and
 * every project's Pulumi.yaml and stack files.
 */
export function copyRepository(): { root: string; [Symbol.dispose](): void } {
  const root = mkdtempSync(join(tmpdir(), "new-server-"));
  cpSync(join(repositoryRoot, "servers"), join(root, "servers"), { recursive: true });
  mkdirSync(join(root, "pulumi"), { recursive: true });
  cpSync(join(repositoryRoot, "pulumi", "placement.yaml"), join(root, "pulumi", "placement.yaml"));
  const projects = join(repositoryRoot, "pulumi", "projects");
  for (const project of readdirSync(projects)) {
    for (const file of readdirSync(join(projects, project)).filter((name) =>
      /^Pulumi(\..+)?\.yaml$/.test(name),
    )) {
      mkdirSync(join(root, "pulumi", "projects", project), { recursive: true });
      cpSync(join(projects, project, file), join(root, "pulumi", "projects", project, file));
    }
  }
  cpSync(join(repositoryRoot, "terraform", "templates"), join(root, "terraform", "templates"), {
    recursive: true,
  });
  return { root, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

/** Every file below `root` with its content, to compare a tree before and after. */
export function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return files;
}

/** What a run printed and returned. */
export interface Outcome {
  code: number;
  out: string;
  err: string;
}

/** Runs the tool against `root` in this process. */
export async function runTool(root: string, args: string[], ask?: Ask): Promise<Outcome> {
  const outcome = { out: "", err: "" };
  const io: Io = {
    out: (text) => (outcome.out += text),
    err: (text) => (outcome.err += text),
    ...(ask ? { ask } : {}),
  };
  const code = await run([...args, "--root", root], io);
  return { code, ...outcome };
}

/** A question as the scripted prompts saw it: the choices, the default offered, and the problems found. */
export interface Asked {
  flag: string;
  default?: unknown;
  choices?: readonly string[];
  rejected?: string[];
}

/**
 * Prompts answered from a script by flag; an answer of undefined accepts the default. A text
 * answer the tool's check rejects is recorded, and the next answer in the list is tried.
 */
export function scriptedAsk(answers: Record<string, unknown[]>): { ask: Ask; asked: Asked[] } {
  const asked: Asked[] = [];
  const next = <T>(question: Question<T>, check?: (value: string) => string | undefined): T => {
    const record: Asked = { flag: question.flag, default: question.default };
    asked.push(record);
    const queue = answers[question.flag];
    if (!queue) throw new Error(`unexpected question ${question.flag}`);
    for (;;) {
      if (queue.length === 0) throw new Error(`no acceptable answer to ${question.flag}`);
      const answer = (queue.shift() ?? question.default) as T;
      const problem = check?.(String(answer));
      if (!problem) return answer;
      record.rejected = [...(record.rejected ?? []), problem];
    }
  };
  return {
    asked,
    ask: {
      choose: async (question) => {
        const answer = next(question);
        asked[asked.length - 1] = { ...(asked[asked.length - 1] as Asked), choices: question.choices };
        return answer;
      },
      text: async (question) => next(question, question.check),
      confirm: async (question) => next(question),
    },
  };
}
