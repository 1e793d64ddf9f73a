// src/providers/index.ts loads only the chosen cloud's module; the table it loads from must name
// every cloud's class, and each class must fit MachineProviderClass (checked by tsc here, since
// the program's own require is untyped on purpose).
import { describe, expect, it } from "vitest";
import { AwsMachines } from "../../src/providers/aws";
import { AzureMachines } from "../../src/providers/azure";
import { DigitalOceanMachines } from "../../src/providers/digitalocean";
import { ExistingMachines } from "../../src/providers/existing";
import { GcpMachines } from "../../src/providers/gcp";
import {
  PROVIDER_MODULES,
  providerClass,
  type MachineProviderClass,
} from "../../src/providers/index";
import { LocalMachines } from "../../src/providers/local";

const expected: Record<keyof typeof PROVIDER_MODULES, MachineProviderClass> = {
  aws: AwsMachines,
  gcp: GcpMachines,
  azure: AzureMachines,
  digitalocean: DigitalOceanMachines,
  existing: ExistingMachines,
  local: LocalMachines,
};

describe("providerClass", () => {
  it.each(Object.keys(expected) as (keyof typeof expected)[])(
    "loads the %s module's class",
    (cloud) => {
      // Loaded through require (tsx here), so another module instance than the import above.
      expect(providerClass(cloud).name).toBe(expected[cloud].name);
    },
  );
});
