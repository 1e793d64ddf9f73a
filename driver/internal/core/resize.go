package core

import (
	"context"
	"errors"
	"fmt"

	"arrowhead/driver/internal/decide"
	"arrowhead/driver/internal/gateway"
	"arrowhead/driver/internal/state"
)

// Resized says what Resize did.
type Resized struct {
	FromGB, ToGB int
	// FsType is the file system grown ("" when none was: not mounted anywhere and not attached).
	FsType string
}

// Resize grows the volume name to sizeGB (rounded up to 8 GB) and its file system, online:
// setVolumeSize, then, with the volume mounted here, drv_cfg --rescan until the kernel sees the
// new size and xfs_growfs / resize2fs on the mounted file system; a volume mounted nowhere is
// attached here for the growth and released. Shrinking is refused; a volume mapped to another
// host is refused, naming it (run the command there, where its file system is mounted). A
// second run with the same size changes nothing but grows a file system left smaller than its
// volume. The growth must fit the pool's free capacity.
func (d *Driver) Resize(ctx context.Context, name string, sizeGB int) (Resized, error) {
	if err := decide.ValidDockerName(name); err != nil {
		return Resized{}, err
	}
	defer d.lock(name)()
	v := d.draft(name)
	vol, err := d.gw.FindVolume(ctx, v.ScaleIOName)
	if errors.Is(err, gateway.ErrNotFound) {
		return Resized{}, fmt.Errorf("volume %s: no such volume (no ScaleIO volume %s)", name, v.ScaleIOName)
	}
	if err != nil {
		return Resized{}, gwErr(name, "queryIdByKey", err)
	}
	newGB, change, err := decide.GrowTo(vol.SizeGB, sizeGB)
	if err != nil {
		return Resized{}, fmt.Errorf("volume %s: %w", name, err)
	}
	me, sdcs, err := d.mySdc(ctx)
	if err != nil {
		return Resized{}, fmt.Errorf("volume %s: %w", name, err)
	}
	for _, m := range mappings(vol, sdcs) {
		if m.SdcID != me {
			return Resized{}, fmt.Errorf("volume %s is mapped to host %s: run `scaleio-volume-plugin -resize %s %d` there, where its file system is mounted", name, m.Host, name, sizeGB)
		}
	}
	if change {
		if err := d.growVolume(ctx, name, vol, newGB); err != nil {
			return Resized{}, err
		}
	}
	fs, err := d.growMounted(ctx, name, v, vol.ID, newGB)
	if err != nil {
		return Resized{}, err
	}
	d.log.Info("resized volume", "volume", name, "fromGB", vol.SizeGB, "toGB", newGB, "fsType", fs)
	return Resized{FromGB: vol.SizeGB, ToGB: newGB, FsType: fs}, nil
}

// growVolume checks that the growth fits the pool's free capacity, then sets the new size.
func (d *Driver) growVolume(ctx context.Context, name string, vol gateway.Volume, newGB int) error {
	avail, err := d.gw.PoolAvailableKB(ctx, vol.PoolID)
	if err != nil {
		return gwErr(name, "StoragePool Statistics", err)
	}
	if err := decide.CheckFits(newGB-vol.SizeGB, vol.Thin, avail, vol.PoolID); err != nil {
		return fmt.Errorf("volume %s: growth to %d GB refused, nothing changed: %w", name, newGB, err)
	}
	if err := d.gw.SetSize(ctx, vol.ID, newGB); err != nil {
		return gwErr(name, fmt.Sprintf("setVolumeSize %d GB", newGB), err)
	}
	return nil
}

// growMounted grows the file system to the volume's new size: where it is mounted here, in
// place; else attached here for the time of the growth. It returns the file system's type.
func (d *Driver) growMounted(ctx context.Context, name string, v *state.Volume, volID string, newGB int) (string, error) {
	attached := false
	if !v.Mounted {
		if _, err := d.attach(ctx, name, v, nil); err != nil {
			return "", err
		}
		attached = true
	}
	fs, err := d.growFS(ctx, name, v.ScaleIOName, volID, newGB)
	if attached {
		if rerr := d.release(ctx, name, v); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return "", err
	}
	return fs, d.commit(name, v)
}

// growFS waits for the kernel to see newGB on the volume's device, then grows the file system
// mounted at the volume's mount directory.
func (d *Driver) growFS(ctx context.Context, name, sio, volID string, newGB int) (string, error) {
	sysID, err := d.sysID(ctx)
	if err != nil {
		return "", gwErr(name, "System instances", err)
	}
	wctx, cancel := context.WithTimeout(ctx, d.cfg.DeviceWait)
	defer cancel()
	dev, err := d.host.WaitDevice(wctx, sysID, volID)
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", name, err)
	}
	if err := d.host.WaitDeviceBytes(wctx, dev, int64(newGB)*decide.KBPerGB*1024); err != nil {
		return "", fmt.Errorf("volume %s: the kernel does not see the new size yet: %w; run the command again", name, err)
	}
	dir := d.mountDir(sio)
	fs := ""
	mounts, err := d.host.Mounts()
	if err != nil {
		return "", fmt.Errorf("volume %s: read mounts: %w", name, err)
	}
	for _, m := range mounts {
		if m.Target == dir {
			fs = m.FsType
		}
	}
	if fs == "" {
		return "", fmt.Errorf("volume %s: not mounted at %s", name, dir)
	}
	if err := d.host.GrowFS(ctx, dev, dir, fs); err != nil {
		return "", fmt.Errorf("volume %s: grow the %s file system: %w", name, fs, err)
	}
	return fs, nil
}
