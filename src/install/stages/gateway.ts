// Stage "gateway": the gateway was installed with its admin password; here it is told the MDM
// addresses and to trust the MDM certificate, through its own REST API. Queries first: when an
// MDM-backed call already works, nothing is changed.
import { waitFor, type InstallContext } from "../context";
import { fetchCertificate, GatewayClient } from "../gateway-api";
import { managerIps } from "../spec";

export const STEP = "gateway";
export const gatewayLoginFact = (host: string) => `gateway-login:${host}`;
export const GATEWAY_PORT = 443;

/** A client for the gateway on `host` once it answers (one per run: the verify stage reuses it). */
export function gatewayClient(
  ctx: InstallContext,
  host: string,
  step: string,
): Promise<GatewayClient> {
  return ctx.memo(`gateway:${host}`, () => connectGateway(ctx, host, step));
}

async function connectGateway(
  ctx: InstallContext,
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
export async function mdmLoginWorks(ctx: InstallContext, c: GatewayClient): Promise<boolean> {
  const login = await c.request("GET", "/api/login", {
    user: "admin",
    password: ctx.spec.mdmPassword,
  });
  if (login.status !== 200 || typeof login.body !== "string") return false;
  const sys = await c.request("GET", "/api/types/System/instances", {
    user: "",
    password: login.body,
  });
  return sys.status === 200;
}

export async function configureGateway(
  ctx: InstallContext,
  host: string,
): Promise<{ url: string }> {
  await ctx.step(host, STEP);
  const c = await gatewayClient(ctx, host, STEP);
  const log = ctx.log(host, STEP);
  if (await mdmLoginWorks(ctx, c)) ctx.remember(gatewayLoginFact(host), true);
  else {
    const admin = await c.request("GET", "/api/gatewayLogin", {
      user: "admin",
      password: ctx.spec.gatewayPassword,
    });
    if (admin.status !== 200 || typeof admin.body !== "string") {
      throw new Error(
        `[${host}] ${STEP}: the gateway rejects the configured gateway admin password (gatewayPassword): HTTP ${admin.status}. ` +
          `It was set when the gateway package was installed; set gatewayPassword to that value.`,
      );
    }
    const auth = { user: "", password: admin.body };
    log.info("telling the gateway the MDM addresses and to trust the MDM certificate");
    ctx.changes.push({ host, step: STEP, command: "POST /api/updateConfiguration" });
    const u = await c.request("POST", "/api/updateConfiguration", auth, {
      mdmAddresses: managerIps(ctx.spec.machines),
    });
    if (u.status !== 200)
      throw new Error(
        `[${host}] ${STEP}: /api/updateConfiguration failed: HTTP ${u.status} ${u.text}`,
      );
    ctx.changes.push({ host, step: STEP, command: "POST /api/trustHostCertificate/Mdm" });
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
    ctx.remember(gatewayLoginFact(host), true);
  }
  return { url: `https://${ctx.machine(host).publicAddress}:${GATEWAY_PORT}/` };
}
