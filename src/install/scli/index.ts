// scli, the ScaleIO CLI: command builders (commands.ts), output parsers (parse.ts), what a
// failure means (errors.ts), and the logged-in session on a host (login.ts).
export * from "./commands";
export * from "./errors";
export * from "./login";
export * from "./parse";

// The name and password rules live in names.ts (config shares them); kept importable from here.
export {
  MDM_PASSWORD_RULE,
  mdmPasswordProblem,
  OBJECT_NAME,
  OBJECT_NAME_MAX,
  OBJECT_NAME_RULE,
  objectName,
} from "../names";
