/**
 * Every chart, image and CRD version the platform deploys, pinned here and nowhere else, so an
 * upgrade is one reviewed change. Images are pinned by tag; charts by exact version.
 */

/** A Helm chart: its name, repository and exact version. */
export interface ChartVersion {
  readonly chart: string;
  readonly repository: string;
  readonly version: string;
}

export const charts = {
  cilium: { chart: "cilium", repository: "https://helm.cilium.io", version: "1.19.4" },
  certManager: { chart: "cert-manager", repository: "https://charts.jetstack.io", version: "v1.21.1" },
  traefik: { chart: "traefik", repository: "https://traefik.github.io/charts", version: "41.3.0" },
  kubernetesDashboard: {
    chart: "kubernetes-dashboard",
    repository: "https://kubernetes.github.io/dashboard",
    version: "7.13.0",
  },
} as const satisfies Record<string, ChartVersion>;

/**
 * The Kubernetes minor the servers run: the `k3s` of the nixpkgs the NixOS flake pins (nixos-26.05,
 * whose `k3s` is `k3s_1_35`; nixpkgs moved it to 1.36 only in September 2026, NixOS/nixpkgs#563705).
 * Pod Security admission labels pin their policy version to it, so a k3s upgrade never tightens or
 * loosens what a namespace admits; raise it with the servers' k3s.
 */
export const kubernetesVersion = "v1.35";

/** Upstream CRD bundles vendored in the repository (see their SOURCES.md). */
export const crds = {
  gatewayApi: "v1.6.1",
} as const;

/** Container images, by tag. */
export const images = {
  /** Tailscale's container (containerboot): subnet routers and VPN relay exit nodes. */
  tailscale: "ghcr.io/tailscale/tailscale:v1.88.3",
  /**
   * Headscale (self-hosted tailnet control server): its release image, built with ko on distroless
   * with `headscale` as the entrypoint and tagged `<major>.<minor>.<patch>` (.goreleaser.yml `kos`).
   * 0.28.0 (CHANGELOG: 2026-02-04): tags as identity, tagged pre-auth keys without a user. Upgrade
   * one minor at a time: from 0.29 Headscale refuses to skip one (CHANGELOG).
   */
  headscale: "headscale/headscale:0.28.0",
  /**
   * Knot DNS (authoritative only), CZ.NIC's official image (`knotd` on the PATH, user knot uid 53,
   * no entrypoint): the private zone's server. Its knot.conf is proven with Debian's knotd 3.2.
   */
  knot: "cznic/knot:v3.5.4",
  /** wg-quick, iproute2 and iptables for the VPN relays' upstream container. */
  wireguard: "lscr.io/linuxserver/wireguard:1.0.20250521",
  /**
   * Base of the backup jobs of plain volumes: bash, coreutils, findutils, grep and sed, on the
   * Debian release the backup scripts are proven on. restic and rclone are copied in (below).
   */
  scriptBase: "debian:12.11-slim",
  /** restic's release image: the jobs copy its static binary and CA bundle, nothing downloads at run time. */
  restic: "restic/restic:0.18.1",
  /** rclone's release image: the jobs copy its static binary (restic's `rclone:` backend runs it). */
  rclone: "ghcr.io/rclone/rclone:1.74.1",
  /**
   * PostgreSQL server, and the client tools of its backup jobs (same image, so pg_dump always
   * matches the server's major). 15 is the major the database hooks are proven with.
   */
  postgresql: "postgres:15.17-bookworm",
  /** MariaDB server and its backup jobs' clients; 10.11 (LTS) is the version the hooks are proven with. */
  mariadb: "mariadb:10.11.17",
  /**
   * MySQL server (8.4 LTS: Ghost supports only MySQL 8 in production) and its jobs' clients
   * (mysql, mysqldump, mysqladmin): the official image, built on Oracle Linux 9 from
   * docker-library/mysql 8.4/Dockerfile.oracle (the image's `MYSQL_VERSION` is 8.4.11-1.el9).
   */
  mysql: "mysql:8.4.11",
  /**
   * Garage (S3-compatible object storage), the project's static build on an empty image (the
   * binary at /garage). v2.4.1 is the newest v2 release the sources here name with its digest.
   */
  garage: "dxflrs/garage:v2.4.1",
  /**
   * Gatus (uptime monitor: HTTP checks with certificate conditions, pushed external endpoints and
   * alerting, all from one YAML file), its static Go build on an empty image. v5.36.0: the tag
   * deployments in the library's public sources pin (docker.io/twinproduction/gatus:v5.36.0).
   */
  gatus: "twinproduction/gatus:v5.36.0",
  /**
   * Base of the object store's scripts: Debian 12 with curl (whose `--aws-sigv4` signs the S3
   * calls) and bash, the official buildpack-deps image of Debian's bookworm release.
   */
  curlBase: "buildpack-deps:bookworm-curl",
  /** jq's release image (the static binary at /jq): the object store's scripts read JSON with it. */
  jq: "ghcr.io/jqlang/jq:1.8.1",
  /** Vaultwarden (Bitwarden-compatible password manager), its Alpine build. */
  vaultwarden: "vaultwarden/server:1.37.2-alpine",
  /** Syncthing (file synchronisation), the project's own image (release v2.1.6's notes name the tag). */
  syncthing: "syncthing/syncthing:2.1.6",
  /** n8n (workflow automation), the stable 2.x line (n8n-io/n8n release n8n@2.48.5). */
  n8n: "docker.n8n.io/n8nio/n8n:2.48.5",
  /**
   * n8n's task runners (launcher, JavaScript and Python runners) for external mode, distroless
   * build (uid 65532). Its version must be n8n's (docs.n8n.io, "Task runners").
   */
  n8nRunners: "n8nio/runners:2.48.5-distroless",
  /**
   * Etebase (the EteSync server): no official image; victorrds/etebase is the maintained community
   * one, its Alpine build. Tags are `<server version>-<flavor>` (victor-rds/docker-etebase:
   * `.github/workflows/call_build_push.yml`), the server version from its `server_version` (v0.14.2).
   */
  etebase: "victorrds/etebase:0.14.2-alpine",
  /**
   * Zitadel (identity provider): API and console on 8080, uid 1000. v4.19.4 is the newest v4 patch
   * the sources here name (release mirrors of zitadel/zitadel, Chainguard's zitadel-4 package).
   */
  zitadel: "ghcr.io/zitadel/zitadel:v4.19.4",
  /** Zitadel's login UI (login v2, Next.js, 3000), released with Zitadel under the same tag. */
  zitadelLogin: "ghcr.io/zitadel/zitadel-login:v4.19.4",
  /** Ghost (blog), the official Alpine build of the 6.x line (docker-library/ghost); runs as `node` (1000). */
  ghost: "ghost:6.7.0-alpine",
  /**
   * Plane (project management), Community Edition, its five images under one release tag, from
   * Docker Hub (the names the plane-ce chart's values.yaml gives; the chart's default registry is
   * artifacts.plane.so). v1.4.1 is the plane-ce chart's `planeVersion` (makeplane/helm-charts
   * charts/plane-ce/README.md). web and admin: static builds served by nginx on 3000; space:
   * react-router-serve on 3000; live: Node.js on 3000; backend: the API, worker, beat and migrator.
   */
  planeFrontend: "makeplane/plane-frontend:v1.4.1",
  planeSpace: "makeplane/plane-space:v1.4.1",
  planeAdmin: "makeplane/plane-admin:v1.4.1",
  planeLive: "makeplane/plane-live:v1.4.1",
  planeBackend: "makeplane/plane-backend:v1.4.1",
  /**
   * Valkey (Redis-compatible cache; Debian packages none), the 8.1 line's Alpine build
   * (valkey-io/valkey-container 8.1/alpine): Plane's cache.
   */
  valkey: "valkey/valkey:8.1.10-alpine",
  /**
   * RabbitMQ without the management plugin, Alpine build (docker-library/rabbitmq 4.2/alpine):
   * Plane's Celery broker. Not 4.3, which denies the transient non-exclusive queues and global QoS
   * Celery uses (RabbitMQ 4.3.0 release notes).
   */
  rabbitmq: "rabbitmq:4.2.7-alpine",
  /**
   * Ente's museum (API server, 8080). Ente publishes it only as `latest` and `<commit>` (the
   * commit its production museum runs; .github/workflows/server-publish-ghcr.yml), so it is pinned
   * by digest. UNVERIFIED against the registry (no access from here): the digest is the one a
   * public deployment pins together with the web digest below (a homelab's Nix module, found by
   * code search). Check with `crane digest ghcr.io/ente-io/server:latest` and move both together.
   */
  enteMuseum:
    "ghcr.io/ente-io/server@sha256:c56831e83306988b2f5ee30eee20194d6b8f848a9cc4f4afa75931722ac1086b",
  /**
   * Ente's web apps (photos 3000, accounts 3001, albums 3002, auth 3003, cast 3004), static builds
   * served by nginx; tagged `latest` and `<commit>` weekly (.github/workflows/web-publish-ghcr.yml).
   * UNVERIFIED digest, from the same deployment as enteMuseum's.
   */
  enteWeb: "ghcr.io/ente-io/web@sha256:94d76dae2ec6e767a86fa93da4c23243cd93f27295e82c51205bc137a4204dab",
} as const satisfies Record<string, string>;
