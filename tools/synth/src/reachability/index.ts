export { addressInCidr } from "./addresses";
export type { ExternalPod, HelmRelease } from "./charts";
export { chartPods, k3sSystemPods } from "./charts";
export type { Expectation, ExplainOptions, Flow, FlowResult, Outcome } from "./evaluate";
export {
  canReach,
  checkReachability,
  describeFlow,
  explain,
  reachabilityMatrix,
  resolveEndpoints,
} from "./evaluate";
export type { LabelSelector, Labels } from "./labels";
export { selectorMatches } from "./labels";
export type { Endpoint, Model, ModelOptions, Policy, PolicyRule, Service } from "./model";
export { buildModel } from "./model";
export type { Protocol } from "./ports";
export type { ProbePort } from "./probes";
export { egressPaths, openPaths, probePorts, probeSources } from "./probes";
export type { ProjectObjects } from "./stack";
export { stackObjects } from "./stack";
