package gateway

import (
	"context"
	"fmt"
	"strconv"

	"github.com/dell/goscaleio"
	types "github.com/dell/goscaleio/types/v1"

	"arrowhead/driver/internal/decide"
)

// ListPools returns every storage pool of the system with its protection domain's name and its
// mediaType (the tier: HDD, SSD or Transitional): System/relationship/ProtectionDomain, then
// ProtectionDomain/relationship/StoragePool of each (goscaleio GetProtectionDomain and
// GetStoragePool). The pools are kept, with their links, for PoolAvailableKB and CreateVolume.
func (g *Client) ListPools(ctx context.Context) ([]decide.PoolRef, error) {
	var out []decide.PoolRef
	err := g.call(ctx, func(c *goscaleio.Client) error {
		pds, err := g.system.GetProtectionDomain("")
		if err != nil {
			return err
		}
		byID := map[string]*types.StoragePool{}
		for _, pdT := range pds {
			sps, err := goscaleio.NewProtectionDomainEx(c, pdT).GetStoragePool("")
			if err != nil {
				return err
			}
			for _, sp := range sps {
				byID[sp.ID] = sp
				out = append(out, decide.PoolRef{ID: sp.ID, Name: sp.Name, ProtectionDomainID: pdT.ID, ProtectionDomain: pdT.Name, MediaType: sp.MediaType})
			}
		}
		g.pools = byID
		return nil
	})
	return out, err
}

// storagePool returns the pool poolID with its links (as listed, else read by id). The caller
// holds g.mu (inside call).
func (g *Client) storagePool(c *goscaleio.Client, poolID string) (*goscaleio.StoragePool, error) {
	if sp, ok := g.pools[poolID]; ok {
		return goscaleio.NewStoragePoolEx(c, sp), nil
	}
	sp, err := g.system.GetStoragePoolByID(poolID)
	if err != nil {
		return nil, err
	}
	if sp == nil || sp.ID == "" {
		return nil, fmt.Errorf("%w: no storage pool with id %s", ErrNotFound, poolID)
	}
	if g.pools == nil {
		g.pools = map[string]*types.StoragePool{}
	}
	g.pools[poolID] = sp
	return goscaleio.NewStoragePoolEx(c, sp), nil
}

// PoolAvailableKB returns the pool's capacityAvailableForVolumeAllocationInKb, from its
// Statistics relationship (goscaleio StoragePool.GetStatistics): the net capacity left for new
// volumes (see decide.CheckFits).
func (g *Client) PoolAvailableKB(ctx context.Context, poolID string) (int64, error) {
	var kb int64
	err := g.call(ctx, func(c *goscaleio.Client) error {
		sp, err := g.storagePool(c, poolID)
		if err != nil {
			return err
		}
		st, err := sp.GetStatistics()
		if err != nil {
			return err
		}
		kb = int64(st.CapacityAvailableForVolumeAllocationInKb)
		return nil
	})
	return kb, err
}

// Snapshot makes a snapshot of the volume srcID named name (System action snapshotVolumes,
// goscaleio CreateSnapshotConsistencyGroup, one snapshotDef) and returns the new volume's id. A
// ScaleIO snapshot is a volume of its own in the source's VTree (same pool), read-write, and
// crash-consistent: the point in time of the call.
func (g *Client) Snapshot(ctx context.Context, srcID, name string) (string, error) {
	var id string
	err := g.call(ctx, func(*goscaleio.Client) error {
		resp, err := g.system.CreateSnapshotConsistencyGroup(&types.SnapshotVolumesParam{SnapshotDefs: []*types.SnapshotDef{{VolumeID: srcID, SnapshotName: name}}})
		if err != nil {
			return err
		}
		if len(resp.VolumeIDList) != 1 {
			return fmt.Errorf("snapshotVolumes answered %d volume ids, want 1", len(resp.VolumeIDList))
		}
		id = resp.VolumeIDList[0]
		return nil
	})
	return id, err
}

// SetSize grows a volume to sizeGB (a multiple of 8 GB; Volume action setVolumeSize {sizeInGB},
// goscaleio SetVolumeSize). The gateway refuses a smaller size; the driver never asks for one.
func (g *Client) SetSize(ctx context.Context, volID string, sizeGB int) error {
	if sizeGB < 1 || sizeGB > decide.MaxSizeGB || sizeGB%decide.GranularityGB != 0 {
		return fmt.Errorf("volume size %d GB: want a multiple of %d GB up to %d GB", sizeGB, decide.GranularityGB, decide.MaxSizeGB)
	}
	return g.call(ctx, func(c *goscaleio.Client) error {
		return g.volume(c, volID).SetVolumeSize(strconv.Itoa(sizeGB))
	})
}
