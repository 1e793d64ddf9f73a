// Package host is the driver's local side: the SDC's GUID and rescans (drv_cfg), waiting for a
// mapped volume's device, file system detection and creation, mounts and /proc/self/mountinfo.
// It knows nothing of the gateway.
package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DrvCfgPaths are where the SDC package installs drv_cfg (3.x, then older releases;
// scaleio-reference §5).
var DrvCfgPaths = []string{"/opt/emc/scaleio/sdc/bin/drv_cfg", "/bin/emc/scaleio/drv_cfg"}

// ByIDDir holds the stable links emc-vol-<systemId>-<volumeId> -> ../../scini<x>.
const ByIDDir = "/dev/disk/by-id"

// Host runs the local commands. The zero value uses the default paths.
type Host struct {
	// DrvCfg is the drv_cfg binary; empty means the first of DrvCfgPaths that exists.
	DrvCfg string
	// ByID is the directory of the by-id links; empty means ByIDDir.
	ByID string
	// RescanEvery is how often WaitDevice asks the SDC to rescan; 0 means 2 s.
	RescanEvery time.Duration
}

func (h *Host) drvCfg() (string, error) {
	if h.DrvCfg != "" {
		return h.DrvCfg, nil
	}
	for _, p := range DrvCfgPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("drv_cfg not found at %s: install the ScaleIO SDC package on this host", strings.Join(DrvCfgPaths, " or "))
}

// run runs a command and returns its stdout; the error carries the command and its stderr.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// SdcGUID returns this host's SDC GUID (drv_cfg --query_guid), upper-cased as the gateway's
// sdcGuid is compared (dvol-reference §2).
func (h *Host) SdcGUID(ctx context.Context) (string, error) {
	bin, err := h.drvCfg()
	if err != nil {
		return "", err
	}
	out, err := run(ctx, bin, "--query_guid")
	if err != nil {
		return "", fmt.Errorf("read the SDC GUID: %w (is the scini service running?)", err)
	}
	guid := strings.ToUpper(strings.TrimSpace(out))
	if guid == "" {
		return "", fmt.Errorf("read the SDC GUID: %s --query_guid printed nothing", bin)
	}
	return guid, nil
}

// Rescan asks the SDC to pick up new mappings now (drv_cfg --rescan).
func (h *Host) Rescan(ctx context.Context) error {
	bin, err := h.drvCfg()
	if err != nil {
		return err
	}
	_, err = run(ctx, bin, "--rescan")
	return err
}

// DevicePath is the stable device link of a volume.
func (h *Host) DevicePath(systemID, volumeID string) string {
	dir := h.ByID
	if dir == "" {
		dir = ByIDDir
	}
	return filepath.Join(dir, fmt.Sprintf("emc-vol-%s-%s", systemID, volumeID))
}

// WaitDevice waits until the volume's by-id link resolves to a block device, rescanning every
// RescanEvery, and gives up when ctx ends (a missing /dev/disk/by-id means "not yet"). It
// returns the resolved device (e.g. /dev/scinia).
func (h *Host) WaitDevice(ctx context.Context, systemID, volumeID string) (string, error) {
	link := h.DevicePath(systemID, volumeID)
	every := h.RescanEvery
	if every == 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastRescan := time.Time{}
	var rescanErr error
	for {
		if dev, err := filepath.EvalSymlinks(link); err == nil {
			if st, err := os.Stat(dev); err == nil && st.Mode()&os.ModeDevice != 0 {
				return dev, nil
			}
		}
		if time.Since(lastRescan) >= every {
			lastRescan = time.Now()
			rescanErr = h.Rescan(ctx)
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("device %s did not appear in time (%v)", link, ctx.Err())
			if rescanErr != nil {
				msg += "; last rescan failed: " + rescanErr.Error()
			}
			return "", errors.New(msg + "; check that the scini service runs and is connected to the MDM (drv_cfg --query_mdms)")
		case <-tick.C:
		}
	}
}

// FsType returns the file system type on dev, or "" when blkid finds none (exit status 2).
func (h *Host) FsType(ctx context.Context, dev string) (string, error) {
	cmd := exec.CommandContext(ctx, "blkid", "-p", "-o", "value", "-s", "TYPE", dev)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("blkid %s: %w: %s", dev, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Mkfs creates a file system of fsType ("xfs" or "ext4") on dev. Call it only when FsType
// found none.
func (h *Host) Mkfs(ctx context.Context, dev, fsType string) error {
	switch fsType {
	case "xfs":
		_, err := run(ctx, "mkfs.xfs", "-q", dev)
		return err
	case "ext4":
		_, err := run(ctx, "mkfs.ext4", "-q", "-F", dev)
		return err
	}
	return fmt.Errorf("mkfs: unsupported file system type %q (xfs or ext4)", fsType)
}

// Mount mounts dev (of fsType) on target, creating target. XFS gets nouuid, so a volume and a
// copy of it can be mounted on one host (as REX-Ray and csi-powerflex do).
func (h *Host) Mount(dev, target, fsType string) error {
	if err := os.MkdirAll(target, 0o700); err != nil {
		return err
	}
	data := ""
	if fsType == "xfs" {
		data = "nouuid"
	}
	if err := syscall.Mount(dev, target, fsType, 0, data); err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", dev, target, fsType, err)
	}
	return nil
}

// Unmount unmounts target; not mounted is success.
func (h *Host) Unmount(target string) error {
	err := syscall.Unmount(target, 0)
	if err == nil || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", target, err)
}

// MountEntry is one line of /proc/self/mountinfo.
type MountEntry struct {
	// Dev is major:minor of the mounted device.
	Dev    string
	Target string
	FsType string
	Source string
}

// ParseMountinfo reads /proc/self/mountinfo's format (proc(5)): fields 3 (major:minor) and 5
// (mount point), then after " - ": type and source. Octal escapes (\040) are decoded.
func ParseMountinfo(data []byte) []MountEntry {
	var out []MountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		out = append(out, MountEntry{Dev: f[2], Target: unescape(f[4]), FsType: g[0], Source: unescape(g[1])})
	}
	return out
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Mounts returns this host's mounts.
func (h *Host) Mounts() ([]MountEntry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ParseMountinfo(data), nil
}

// DeviceNumber returns dev's major:minor as mountinfo writes it.
func DeviceNumber(dev string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dev, &st); err != nil {
		return "", err
	}
	rdev := uint64(st.Rdev)
	major := (rdev >> 8) & 0xfff
	major |= (rdev >> 32) & ^uint64(0xfff)
	minor := rdev & 0xff
	minor |= (rdev >> 12) & ^uint64(0xff)
	return fmt.Sprintf("%d:%d", major, minor), nil
}
