package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceBytesReadsABlockDevicesSize attaches a 3 MiB file as a loop device (root only) and
// reads its size; a regular file is refused (no BLKGETSIZE64).
func TestDeviceBytesReadsABlockDevicesSize(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup")
	}
	img := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(img, make([]byte, 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Skipf("losetup: %v (no loop devices here)", err)
	}
	dev := strings.TrimSpace(string(out))
	defer exec.Command("losetup", "-d", dev).Run()
	h := &Host{}
	if n, err := h.DeviceBytes(dev); err != nil || n != 3<<20 {
		t.Fatalf("DeviceBytes(%s) = %d, %v; want %d", dev, n, err, 3<<20)
	}
	if _, err := h.DeviceBytes(img); err == nil {
		t.Fatal("a regular file has no block device size")
	}
}
