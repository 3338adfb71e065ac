/** Input pieces shared by the routers: every one strict, with a clear message. */
import { PASSWORD_MAX, PASSWORD_MIN } from "@director/db";
import { EndpointString, ServiceKey } from "@director/model";
import { z } from "zod";

export const AgentId = z.uuid({ message: "not an agent id" });
export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{1,31}$/, "2 to 32 letters, digits, dots, dashes or underscores");
export const Password = z.string().min(PASSWORD_MIN, `at least ${PASSWORD_MIN} characters`).max(PASSWORD_MAX);
export const RoleName = z.enum(["viewer", "operator", "admin"]);
export const ServiceRef = z.strictObject({ agentId: AgentId, key: ServiceKey });
export const RealServerRef = z.strictObject({ agentId: AgentId, key: ServiceKey, address: EndpointString });
