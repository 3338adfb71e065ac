import { expect, it } from "vitest";
import { maskAddress } from "./persistence.js";

it("masks client addresses to the persistence granularity (ipvsadm -M), IPv4 and IPv6", () => {
  expect(maskAddress("10.1.2.3", 32)).toBe("10.1.2.3");
  expect(maskAddress("10.1.2.3", 24)).toBe("10.1.2.0");
  expect(maskAddress("10.1.2.3", 0)).toBe("0.0.0.0");
  expect(maskAddress("2001:db8:1:2:3:4:5:6", 48)).toBe("2001:db8:1::");
  expect(maskAddress("2001:db8::1", 128)).toBe("2001:db8::1");
});
