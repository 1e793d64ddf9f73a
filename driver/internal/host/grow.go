package host

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// blkGetSize64 is the BLKGETSIZE64 ioctl (linux/fs.h: _IOR(0x12, 114, size_t)): a block
// device's size in bytes.
const blkGetSize64 = 0x80081272

// DeviceBytes returns the size the kernel sees for the block device dev (e.g. /dev/scinia), in
// bytes, by the BLKGETSIZE64 ioctl (works whatever the device's name in /sys).
func (h *Host) DeviceBytes(dev string) (int64, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dev, err)
	}
	defer f.Close()
	var size uint64
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), blkGetSize64, uintptr(unsafe.Pointer(&size))); errno != 0 {
		return 0, fmt.Errorf("size of %s: ioctl BLKGETSIZE64: %w", dev, errno)
	}
	return int64(size), nil
}

// WaitDeviceBytes rescans (drv_cfg --rescan) until the kernel sees dev with at least want bytes,
// or ctx ends: after setVolumeSize the SDC shows the new size at its next rescan.
func (h *Host) WaitDeviceBytes(ctx context.Context, dev string, want int64) error {
	for {
		got, err := h.DeviceBytes(dev)
		if err == nil && got >= want {
			return nil
		}
		if rerr := h.Rescan(ctx); rerr != nil && err == nil {
			err = rerr
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still shows %d bytes, want %d, after drv_cfg --rescan (%v; last error: %v)", dev, got, want, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// GrowFS grows the mounted file system on dev (mounted at dir) to the device's size: xfs_growfs
// on the mount point (xfs grows only mounted), resize2fs on the device for ext4 (online growth
// while mounted).
func (h *Host) GrowFS(ctx context.Context, dev, dir, fsType string) error {
	switch fsType {
	case "xfs":
		_, err := run(ctx, "xfs_growfs", dir)
		return err
	case "ext4":
		_, err := run(ctx, "resize2fs", dev)
		return err
	}
	return fmt.Errorf("grow file system: unsupported type %q (xfs or ext4)", fsType)
}

// Freeze suspends writes to the file system mounted at dir and flushes it (fsfreeze -f), so a
// snapshot taken now holds a clean file system; Thaw must follow.
func (h *Host) Freeze(ctx context.Context, dir string) error {
	_, err := run(ctx, "fsfreeze", "-f", dir)
	return err
}

// Thaw resumes writes to the file system mounted at dir (fsfreeze -u).
func (h *Host) Thaw(ctx context.Context, dir string) error {
	_, err := run(ctx, "fsfreeze", "-u", dir)
	return err
}
