import assert from "node:assert/strict";
import { after, before } from "node:test";
import { type ExampleOutput, synthExampleStacks, type WrittenResource } from "./example-stacks";

/** What the tests of one app read: the example stacks' output, and reads of it bound to the app and the stack they look at. */
export interface AppOutput {
  /** Everything synth wrote for the example stacks; read it inside tests, once it is synthesized. */
  output: ExampleOutput;
  /** The object of a kind and name the app rendered; fails the test when there is none. */
  manifest(kind: string, name: string): Record<string, any>;
  /** The resource of a type and name (`<namespace>/<name>`) the app created; fails the test when there is none. */
  resource(type: string, name: string): WrittenResource;
  /** The app's config, as its stack file writes it. */
  config(): Record<string, any>;
  /** The stack's domain, as the shared project exports it: public names are in it. */
  domain(): string;
  /** The stack's private domain, as the shared project exports it: private names are in it, never published. */
  privateDomain(): string;
}

/**
 * Synthesizes an app (with every project it references) on the example stacks before the tests
 * of the file that calls this, and removes what synth wrote after them; its reads look at `stack`.
 */
export function exampleApp(project: string, stack: string): AppOutput {
  let synthesized: ExampleOutput | undefined;
  before(async () => {
    synthesized = await synthExampleStacks([project]);
  });
  after(() => synthesized?.remove());
  const current = (): ExampleOutput => {
    assert.ok(synthesized, "the example stacks are read inside tests, once synthesized");
    return synthesized;
  };
  return {
    output: new Proxy({} as ExampleOutput, { get: (_target, key) => Reflect.get(current(), key) }),
    manifest: (kind, name) => current().manifest(stack, project, kind, name),
    resource: (type, name) => current().resource(stack, project, type, name),
    config: () => current().config(stack, project),
    domain: () => current().outputs(stack, "shared").domain as string,
    privateDomain: () => current().outputs(stack, "shared").privateDomain as string,
  };
}

/** The pod template of a workload (Deployment, StatefulSet, DaemonSet, Job or CronJob); undefined for other objects. */
export function podTemplate(object: Record<string, any>): Record<string, any> | undefined {
  if (object.kind === "CronJob") return object.spec.jobTemplate.spec.template;
  return ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(object.kind)
    ? object.spec.template
    : undefined;
}

/** The pod spec of a workload; fails the test for an object that runs no pods. */
export function podSpec(object: Record<string, any>): Record<string, any> {
  const template = podTemplate(object);
  assert.ok(template, `${object.kind} ${object.metadata?.name} runs no pods`);
  return template.spec;
}

/** A workload's container by name, among its containers and init containers; its main (first) container without a name. */
export function container(object: Record<string, any>, name?: string): Record<string, any> {
  const spec = podSpec(object);
  const found =
    name === undefined
      ? spec.containers[0]
      : [...spec.containers, ...(spec.initContainers ?? [])].find((candidate) => candidate.name === name);
  assert.ok(found, `${object.metadata?.name} has no container ${name ?? ""}`);
  return found;
}

/**
 * The environment of a workload's main container, or of the container named, by variable name:
 * its value, or where it is read from (`valueFrom`).
 */
export function env(object: Record<string, any>, name?: string): Record<string, any> {
  return Object.fromEntries(
    (container(object, name).env ?? []).map((variable: Record<string, any>) => [
      variable.name,
      variable.value ?? variable.valueFrom,
    ]),
  );
}

/** Where an environment variable read from a key of a Secret is read from. */
export const fromSecret = (name: string, key: string) => ({ secretKeyRef: { name, key } });
