import { VirtualServiceSpec } from "@director/model";
import { describe, expect, it } from "vitest";
import { hostAddresses, refuseLocalAddresses } from "./types.js";

const spec = (localAddresses: string[], realServers = ["10.1.0.1:80"]) =>
  VirtualServiceSpec.parse({ address: "10.0.0.1:80", localAddresses, realServers: realServers.map((address) => ({ address })) });
const own = new Set(["10.0.0.250", "10.0.0.251"]);

describe("refuseLocalAddresses: only addresses of this host, loopback only toward loopback", () => {
  it("takes addresses the host holds", () => {
    expect(refuseLocalAddresses(spec(["10.0.0.250", "10.0.0.251"]), own)).toBeNull();
  });
  it("names every address the host lacks", () => {
    expect(refuseLocalAddresses(spec(["10.0.0.250", "10.0.0.9", "10.0.0.8"]), own)).toMatch(/^local addresses 10\.0\.0\.9, 10\.0\.0\.8 are not addresses of this host/);
  });
  it("takes a loopback address toward real servers on loopback, refuses it toward others", () => {
    expect(refuseLocalAddresses(spec(["127.0.0.2"], ["127.0.0.1:8080"]), own)).toBeNull();
    expect(refuseLocalAddresses(spec(["127.0.0.2"], ["127.0.0.1:8080", "10.1.0.1:80"]), own)).toMatch(/127\.0\.0\.2 is a loopback address, which cannot reach real server 10\.1\.0\.1:80/);
  });
  it("reads the host's addresses with iproute2, loopback's included", () => {
    expect(hostAddresses().has("127.0.0.1")).toBe(true);
  });
});
