import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";

const key = (n: number) =>
  `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost${n}Host${n}Host${n}Host${n}Host${n}Host${n}`;

describe("existing hosts", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        cloud: "existing",
        // Existing hosts accept only the user's own key.
        sshPublicKey:
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserUserUserUserUserUserUserUserUser me",
        hosts: [1, 2, 3].map((n) => ({
          name: `node${n}`,
          address: `192.0.2.${n}`,
          privateAddress: `10.0.0.${n}`,
          user: "root",
          hostKey: key(n),
          dataDisks: ["/dev/sdb"],
        })),
      },
      { ...PASSWORDS, sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nuser\n" },
    );
  });

  it("creates no cloud resources and no key: only the installer's own resources", () => {
    const packages = new Set(run.resources.map((r) => r.type.split(":")[0]));
    expect([...packages].sort()).toEqual(["arrowhead", "pulumi-nodejs"]);
  });

  it("exports the adopted hosts' addresses and ssh commands", () => {
    const nodes = run.outputs.nodeSummary as { name: string; privateAddress: string }[];
    expect(nodes.map((n) => n.privateAddress)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    expect((run.outputs.sshCommands as Record<string, string>).node3).toBe(
      "ssh -i <your private key> -p 22 root@192.0.2.3",
    );
    expect(run.outputs.gatewayUrl).toBe("https://192.0.2.1/api");
  });

  it("exports no private key: the user's own stays in config, secret", async () => {
    const program = await import("../../src/index");
    expect(program.sshPrivateKey).toBeUndefined();
    expect(run.byType("pulumi-nodejs:dynamic/arrowhead:SshKeyPair")).toHaveLength(0);
  });
});
