// The e2e test image's pure parts: its partition table and its cache key.
import { describe, expect, it } from "vitest";
import { imageKey, KERNEL_CMDLINE, mbr } from "../../test/e2e/image/build";
import { DEFAULT_CMDLINE } from "../../src/providers/local";

describe("test image", () => {
  it("has one bootable Linux partition from 1 MiB to the end of the disk", () => {
    const disk = 6 * 1024 ** 3;
    const s = mbr(disk);
    expect(s.length).toBe(512);
    expect([s[510], s[511]]).toEqual([0x55, 0xaa]);
    expect(s[446]).toBe(0x80); // bootable
    expect(s[450]).toBe(0x83); // Linux
    expect(s.readUInt32LE(454)).toBe(2048);
    expect(s.readUInt32LE(458)).toBe((disk - 1024 * 1024) / 512);
    expect(s.subarray(462, 510).every((b) => b === 0)).toBe(true); // no other partitions
  });
  it("is cached under a stable key, and boots with the provider's default command line", () => {
    expect(imageKey()).toMatch(/^[0-9a-f]{16}$/);
    expect(imageKey()).toBe(imageKey());
    expect(KERNEL_CMDLINE).toBe(DEFAULT_CMDLINE);
  });
});
