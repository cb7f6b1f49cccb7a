import * as pulumi from "@pulumi/pulumi";

/** What the provider is given for one key (the API key is a secret input, never an output). */
export interface PreAuthKeyInputs {
  /** Headscale's URL (`tailnetControl.url`): the REST API is under `/api/v1`. */
  serverUrl: string;
  /** An API key (`headscale apikeys create`), sent as `Authorization: Bearer`. */
  apiKey: string;
  /** The tags the device gets: a tagged key makes a tagged device, owned by no user (0.28). */
  tags: string[];
  /** Seconds the key stays usable. */
  expirySeconds: number;
  /** Whether the device is removed once it has been offline a while. */
  ephemeral: boolean;
}

/** What the provider keeps: the key and its expiry, not the API key. */
export interface PreAuthKeyOutputs {
  serverUrl: string;
  tags: string[];
  expirySeconds: number;
  ephemeral: boolean;
  key: string;
  expiration: string;
}

/**
 * Creates pre-auth keys with Headscale's REST API: `POST /api/v1/preauthkey`
 * (`CreatePreAuthKey` in proto/headscale/v1/headscale.proto; body `CreatePreAuthKeyRequest`,
 * camel-cased by grpc-gateway as the generated swagger shows: `reusable`, `ephemeral`,
 * `expiration` (RFC 3339), `aclTags`), authenticated with `Authorization: Bearer <API key>`
 * (docs/ref/api.md). Single use (`reusable: false`). Nothing is done on delete: a used key is
 * worthless and an unused one expires by itself. Every method is self-contained, since Pulumi
 * serializes the provider into the state.
 */
export const preAuthKeyProvider: pulumi.dynamic.ResourceProvider<PreAuthKeyInputs, PreAuthKeyOutputs> = {
  async create(inputs) {
    const expiration = new Date(Date.now() + inputs.expirySeconds * 1000).toISOString();
    const response = await fetch(new URL("/api/v1/preauthkey", inputs.serverUrl), {
      method: "POST",
      headers: { Authorization: `Bearer ${inputs.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        reusable: false,
        ephemeral: inputs.ephemeral,
        expiration,
        aclTags: inputs.tags,
      }),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(
        `Headscale ${inputs.serverUrl} refused a pre-auth key for ${inputs.tags.join(", ")}: HTTP ${response.status} ${text}`,
      );
    }
    const created = (JSON.parse(text) as { preAuthKey?: { id?: string; key?: string; expiration?: string } })
      .preAuthKey;
    if (!created?.id || !created.key) {
      throw new Error(`Headscale ${inputs.serverUrl} answered without a pre-auth key: ${text}`);
    }
    return {
      id: created.id,
      outs: {
        serverUrl: inputs.serverUrl,
        tags: inputs.tags,
        expirySeconds: inputs.expirySeconds,
        ephemeral: inputs.ephemeral,
        key: created.key,
        expiration: created.expiration ?? expiration,
      },
    };
  },
  // Any change but the API key's (rotated without touching the devices) makes a new key.
  async diff(_id, olds, news) {
    const replaces = ["serverUrl", "tags", "expirySeconds", "ephemeral"].filter(
      (name) =>
        JSON.stringify((olds as unknown as Record<string, unknown>)[name]) !==
        JSON.stringify((news as unknown as Record<string, unknown>)[name]),
    );
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
};

export interface HeadscalePreAuthKeyArgs {
  serverUrl: pulumi.Input<string>;
  /** A Pulumi secret. */
  apiKey: pulumi.Input<string>;
  /** The device's tag (the policy's tagOwners must define it). */
  tag: string;
  /** Seconds the key stays usable before the device first logs in. */
  expirySeconds: number;
}

/**
 * A single-use, non-ephemeral pre-auth key for one tagged device, made at Headscale when the
 * resource is created and kept as it is afterwards (`pulumi up --replace` makes a new one).
 * `key` is a Pulumi secret in the program and in the state.
 */
export class HeadscalePreAuthKey extends pulumi.dynamic.Resource {
  declare readonly key: pulumi.Output<string>;
  declare readonly expiration: pulumi.Output<string>;

  constructor(name: string, args: HeadscalePreAuthKeyArgs, options?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof PreAuthKeyInputs, pulumi.Input<unknown>> = {
      serverUrl: args.serverUrl,
      apiKey: pulumi.secret(args.apiKey),
      tags: [args.tag],
      expirySeconds: args.expirySeconds,
      ephemeral: false,
    };
    super(
      preAuthKeyProvider as pulumi.dynamic.ResourceProvider,
      name,
      { ...inputs, key: undefined, expiration: undefined },
      { ...options, additionalSecretOutputs: ["key"] },
      "headscale",
      "PreAuthKey",
    );
    // additionalSecretOutputs keeps it secret in the state; this keeps it secret in the program
    // before the engine answers (a preview, the mock runtime).
    this.key = pulumi.secret(this.key);
  }
}
