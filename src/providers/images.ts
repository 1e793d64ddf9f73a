// One table: cloud x OS -> image, and the login user that image creates. The facts come from
// scaleio-reference.md §9 (CentOS 7 end of life, where public images still exist).
import type { OsName } from "../machine";

export interface AwsImage {
  kind: "aws";
  owner: string;
  namePattern: string;
  includeDeprecated: boolean;
}
export interface GcpImage {
  kind: "gcp";
  project: string;
  family: string;
}
export interface AzureImage {
  kind: "azure";
  publisher: string;
  offer: string;
  sku: string;
  version: string;
  /** Marketplace images with a plan need it on the VM and the terms accepted once. */
  plan?: { publisher: string; product: string; name: string };
}
export interface DigitalOceanImage {
  kind: "digitalocean";
  slug: string;
}

type CloudImage = AwsImage | GcpImage | AzureImage | DigitalOceanImage;
type ImageCloud = CloudImage["kind"];

/**
 * `undefined`: that cloud no longer publishes the OS (the only record of those gaps: config
 * validation asks `missingPublicImage` and names the alternatives).
 */
const IMAGES: { [C in ImageCloud]: Record<OsName, Extract<CloudImage, { kind: C }> | undefined> } =
  {
    aws: {
      // Deprecated but still present; describe-images hides it unless deprecated ones are included.
      centos7: {
        kind: "aws",
        owner: "125523088429",
        namePattern: "CentOS Linux 7 x86_64 - 2211",
        includeDeprecated: true,
      },
      rocky8: {
        kind: "aws",
        owner: "792107900819",
        namePattern: "Rocky-8-EC2-Base-8.*x86_64",
        includeDeprecated: false,
      },
      rocky9: {
        kind: "aws",
        owner: "792107900819",
        namePattern: "Rocky-9-EC2-Base-9.*x86_64",
        includeDeprecated: false,
      },
    },
    gcp: {
      centos7: undefined, // centos-cloud/centos-7 was removed
      rocky8: { kind: "gcp", project: "rocky-linux-cloud", family: "rocky-linux-8" },
      rocky9: { kind: "gcp", project: "rocky-linux-cloud", family: "rocky-linux-9" },
    },
    azure: {
      centos7: {
        kind: "azure",
        publisher: "OpenLogic",
        offer: "CentOS",
        sku: "7_9",
        version: "latest",
      },
      rocky8: {
        kind: "azure",
        publisher: "resf",
        offer: "rockylinux-x86_64",
        sku: "8-base",
        version: "latest",
        plan: { publisher: "resf", product: "rockylinux-x86_64", name: "8-base" },
      },
      rocky9: {
        kind: "azure",
        publisher: "resf",
        offer: "rockylinux-x86_64",
        sku: "9-base",
        version: "latest",
        plan: { publisher: "resf", product: "rockylinux-x86_64", name: "9-base" },
      },
    },
    digitalocean: {
      centos7: undefined, // centos-7-x64 was removed
      rocky8: { kind: "digitalocean", slug: "rockylinux-8-x64" },
      rocky9: { kind: "digitalocean", slug: "rockylinux-9-x64" },
    },
  };

export function imageFor<C extends ImageCloud>(
  cloud: C,
  os: OsName,
): Extract<CloudImage, { kind: C }> {
  const image = IMAGES[cloud][os];
  if (!image) {
    throw new Error(
      `No public ${os} image on ${cloud}: set arrowhead:os to rocky8 or rocky9, or name your own image in arrowhead:image`,
    );
  }
  return image as Extract<CloudImage, { kind: C }>;
}

const CLOUD_TITLES: Record<ImageCloud, string> = {
  aws: "AWS",
  gcp: "GCP",
  azure: "Azure",
  digitalocean: "DigitalOcean",
};
/**
 * Why `cloud` has no public image of `os` (the table's gaps), or undefined when it has one or
 * the cloud takes no image from the table (local, existing).
 */
export function missingPublicImage(cloud: string, os: OsName): string | undefined {
  if (!(cloud in IMAGES) || IMAGES[cloud as ImageCloud][os] !== undefined) return undefined;
  const where = CLOUD_TITLES[cloud as ImageCloud];
  return os === "centos7"
    ? `CentOS 7 has no public image on ${where} any more (it reached end of life on 2024-06-30 and the image was removed)`
    : `${os} has no public image on ${where}`;
}

/** The user the OS's cloud image lets in with the injected key (Azure and GCP: the one we name). */
export function defaultSshUser(os: OsName): string {
  return os === "centos7" ? "centos" : "rocky";
}
