// Stage "Gateway": the gateway was installed with its admin password; here its service is
// enabled (so it answers after a reboot), and it is told every manager MDM's address and to trust
// the MDM certificate, through its own REST API. Queries first: when the service is enabled, its
// MDM list holds every manager and an MDM-backed call works, nothing is changed.
import type { StageName } from "../registry";
import { waitFor, type StageContext } from "../context";
import { fetchCertificate, GatewayClient, type ApiResponse } from "../gateway-api";
import { q, sectioned, splitSections } from "../shell";
import { managerIps } from "../spec";
import { SERVICE_UNIT, unitRunning } from "./services";

export const STEP: StageName = "Gateway";
export const gatewayLoginFact = (host: string) => `gateway-login:${host}`;
export const GATEWAY_PORT = 443;
/** The gateway's systemd unit (EMC-ScaleIO-gateway 1.32 to 3.x). */
export const GATEWAY_SERVICE = SERVICE_UNIT.gateway;
/**
 * Where the gateway keeps its MDM list (`mdm.ip.addresses`, reference §8): read over SSH, since
 * the REST API has no call that lists it.
 */
export const GATEWAY_PROPERTIES =
  "/opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties";

/**
 * A string the gateway answers with: /api/login's token and /api/version come as a JSON string
 * (`"YWRtaW46..."`, `"2.0"`), which the client has already unquoted; a bare body (a proxy, or a
 * version sent as a JSON number) is used as it is. Undefined for objects (error bodies) and empty.
 */
export function apiString(r: Pick<ApiResponse, "body" | "text">): string | undefined {
  const b = r.body;
  const s = typeof b === "string" ? b : typeof b === "number" ? r.text : undefined;
  const t = s?.trim().replace(/^"(.*)"$/, "$1");
  return t ? t : undefined;
}

/** `mdm.ip.addresses` from gatewayUser.properties text; undefined when the key is absent. */
export function mdmAddressesOf(properties: string): string[] | undefined {
  const line = /^\s*mdm\.ip\.addresses\s*=(.*)$/m.exec(properties);
  if (!line) return undefined;
  return line[1]
    .split(/[,;\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** The manager addresses missing from the gateway's MDM list (all of them when it has none). */
export function missingManagers(listed: string[] | undefined, managers: string[]): string[] {
  return managers.filter((ip) => !(listed ?? []).includes(ip));
}

/** A client for the gateway on `host` once it answers (one per run: the verify stage reuses it). */
export function gatewayClient(
  ctx: StageContext,
  host: string,
  step: string,
): Promise<GatewayClient> {
  return ctx.memo(`gateway:${host}`, () => connectGateway(ctx, host, step));
}

async function connectGateway(
  ctx: StageContext,
  host: string,
  step: string,
): Promise<GatewayClient> {
  const session = await ctx.session(host);
  const log = ctx.log(host, step);
  return waitFor(ctx, `the gateway on ${host} to answer on ${GATEWAY_PORT}`, 180_000, async () => {
    try {
      const c = new GatewayClient(
        session,
        await fetchCertificate(session, GATEWAY_PORT, log),
        GATEWAY_PORT,
      );
      const v = await c.request("GET", "/api/version", { user: "", password: "" });
      return v.status === 200 || v.status === 401 ? c : undefined;
    } catch {
      return undefined;
    }
  });
}

/** Log in to the gateway as the MDM admin and list the system: true when the gateway can reach the MDM. */
export async function mdmLoginWorks(ctx: StageContext, c: GatewayClient): Promise<boolean> {
  const login = await c.request("GET", "/api/login", {
    user: "admin",
    password: ctx.spec.mdmPassword,
  });
  const token = apiString(login);
  if (login.status !== 200 || !token) return false;
  const sys = await c.request("GET", "/api/types/System/instances", {
    user: "",
    password: token,
  });
  return sys.status === 200;
}

export async function configureGateway(ctx: StageContext, host: string): Promise<{ url: string }> {
  await ctx.step(host, STEP);
  const log = ctx.log(host, STEP);
  const probe = splitSections(
    (
      await ctx.run(
        host,
        STEP,
        sectioned({
          enabled: `systemctl is-enabled ${GATEWAY_SERVICE}`,
          active: `systemctl is-active ${GATEWAY_SERVICE}`,
          properties: `cat ${q(GATEWAY_PROPERTIES)}`,
        }),
        { quiet: true },
      )
    ).stdout,
  );
  await ensureEnabled(ctx, host, (probe.enabled?.out ?? "").trim());
  await ensureGatewayRunning(ctx, host, (probe.active?.out ?? "").trim());
  const managers = managerIps(ctx.spec.machines);
  // An unreadable properties file (another layout) leaves only the login check to go by.
  const readable = probe.properties?.code === 0;
  const listed = readable ? mdmAddressesOf(probe.properties!.out) : undefined;
  const missing = readable ? missingManagers(listed, managers) : [];
  if (!readable)
    log.info(`cannot read ${GATEWAY_PROPERTIES}: checking the gateway by a login only`);
  const c = await gatewayClient(ctx, host, STEP);
  if (missing.length > 0 || !(await mdmLoginWorks(ctx, c))) {
    if (missing.length > 0)
      log.info(
        `the gateway's MDM list (${(listed ?? []).join(",") || "empty"}) lacks ${missing.join(", ")}: after a failover it could not reach the master`,
      );
    await pointAtMdms(ctx, host, c, managers);
  }
  ctx.remember(gatewayLoginFact(host), true);
  return { url: `https://${ctx.machine(host).publicAddress}:${GATEWAY_PORT}/` };
}

/**
 * The gateway service enabled, so that it answers after a reboot. `enabled` is what
 * `systemctl is-enabled` said: "disabled" is what a package that does not enable its service
 * leaves; "static", "generated" (an init script) and the like start at boot by other means and
 * cannot be enabled.
 */
async function ensureEnabled(ctx: StageContext, host: string, enabled: string): Promise<void> {
  if (enabled === "enabled") return;
  if (/not-found|No such file/i.test(enabled) || enabled === "") {
    throw new Error(
      `[${host}] ${STEP}: the gateway service ${GATEWAY_SERVICE} is not installed (systemctl is-enabled: ${enabled || "no answer"}). ` +
        `Check \`rpm -q EMC-ScaleIO-gateway\` on ${host}; if the package is there without its unit, reinstall it ` +
        `(\`I_AM_SURE=1 rpm -e EMC-ScaleIO-gateway\`, then re-run).`,
    );
  }
  if (enabled === "disabled") {
    ctx
      .log(host, STEP)
      .info(`enabling ${GATEWAY_SERVICE} (was ${enabled}) so that it starts at boot`);
    await ctx.run(host, STEP, `systemctl enable ${GATEWAY_SERVICE}`, { change: true });
  }
}

/**
 * The gateway service running (stopped by hand, or failed): started, recorded; nothing when it
 * runs. `active` is what `systemctl is-active` said. Called after ensureEnabled, which fails
 * first when the service is not installed.
 */
export async function ensureGatewayRunning(
  ctx: StageContext,
  host: string,
  active: string,
): Promise<void> {
  if (unitRunning(active)) return;
  ctx.log(host, STEP).info(`starting ${GATEWAY_SERVICE} (was ${active || "not running"})`);
  await ctx.run(host, STEP, `systemctl start ${GATEWAY_SERVICE}`, {
    change: true,
    timeoutMs: 5 * 60_000,
  });
}

/** As the gateway admin: tell the gateway the MDM addresses and to trust the MDM certificate. */
async function pointAtMdms(
  ctx: StageContext,
  host: string,
  c: GatewayClient,
  managers: string[],
): Promise<void> {
  const admin = await c.request("GET", "/api/gatewayLogin", {
    user: "admin",
    password: ctx.spec.gatewayPassword,
  });
  const adminToken = apiString(admin);
  if (admin.status !== 200 || !adminToken) {
    throw new Error(
      `[${host}] ${STEP}: the gateway rejects the configured gateway admin password (gatewayPassword): HTTP ${admin.status}. ` +
        `It was set when the gateway package was installed; set gatewayPassword to that value.`,
    );
  }
  const auth = { user: "", password: adminToken };
  ctx
    .log(host, STEP)
    .info("telling the gateway the MDM addresses and to trust the MDM certificate");
  ctx.record(host, STEP, "POST /api/updateConfiguration");
  const u = await c.request("POST", "/api/updateConfiguration", auth, {
    mdmAddresses: managers,
  });
  if (u.status !== 200)
    throw new Error(
      `[${host}] ${STEP}: /api/updateConfiguration failed: HTTP ${u.status} ${u.text}`,
    );
  ctx.record(host, STEP, "POST /api/trustHostCertificate/Mdm");
  const t = await c.request("POST", "/api/trustHostCertificate/Mdm", auth);
  if (t.status !== 200)
    throw new Error(
      `[${host}] ${STEP}: /api/trustHostCertificate/Mdm failed: HTTP ${t.status} ${t.text}`,
    );
  if (!(await mdmLoginWorks(ctx, c))) {
    throw new Error(
      `[${host}] ${STEP}: the gateway still cannot log in to the MDM after configuration`,
    );
  }
}
