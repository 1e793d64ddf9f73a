// `npm run lab:up` / `npm run lab:down`: start lab hosts and leave them running, or remove them.
//   lab:up   [--name dev] [--hosts 3] [--os centos7|rocky8] [--disks 1x120] [--rpms DIR]...
//   lab:down [--name dev]
import { parseArgs } from "node:util";
import { destroyLab, LabOs, startLab } from "./hosts";

const USAGE = `usage: tsx test/lab/cli.ts up [--name dev] [--hosts 3] [--os centos7|rocky8] [--disks COUNTxGB] [--rpms DIR]...
       tsx test/lab/cli.ts down [--name dev]`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: "string", default: "dev" },
      hosts: { type: "string", default: "3" },
      os: { type: "string", default: "centos7" },
      disks: { type: "string", default: "1x120" },
      rpms: { type: "string", multiple: true, default: [] },
    },
  });
  const command = positionals[0];
  if (command === "down") {
    await destroyLab(values.name as string);
    console.log(`lab ${values.name}: removed`);
    return;
  }
  if (command !== "up") throw new Error(USAGE);
  const os = values.os as string;
  if (os !== "centos7" && os !== "rocky8")
    throw new Error(`--os must be centos7 or rocky8\n${USAGE}`);
  const disks = /^(\d+)x(\d+)$/.exec(values.disks as string);
  if (!disks) throw new Error(`--disks must look like 1x120 (count x GB)\n${USAGE}`);
  const started = Date.now();
  const lab = await startLab({
    name: values.name as string,
    hosts: Number(values.hosts),
    os: os as LabOs,
    dataDisks: { count: Number(disks[1]), sizeGb: Number(disks[2]) },
    rpmDirs: values.rpms as string[],
    keep: true,
    log: (m) => console.log(m),
  });
  console.log(
    `lab ${lab.name}: ${lab.hosts.length} host(s) up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(`repository (as hosts see it): ${lab.repoUrl}`);
  for (const h of lab.hosts) {
    console.log(
      `${h.name}  ${h.privateAddress}  disks ${h.dataDisks.join(",")}  ` +
        `ssh -i ${lab.privateKeyPath} -o UserKnownHostsFile=${lab.knownHostsPath} ` +
        `-p ${h.sshPort} root@127.0.0.1`,
    );
  }
  console.log(`remove with: npm run lab:down -- --name ${lab.name}`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
