import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

// The missing output feeds a resource and is not exported: the failure surfaces as an
// unhandled rejection, which synth must capture instead of crashing.
const base = new pulumi.StackReference(`organization/base/${pulumi.getStack()}`);
const provider = new k8s.Provider("lab", { context: "lab" });

new k8s.core.v1.ConfigMap(
  "raw-reader",
  {
    metadata: { name: "raw-reader", namespace: "default" },
    data: { value: base.requireOutput("absent").apply(String) },
  },
  { provider },
);
