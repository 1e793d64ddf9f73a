package decide

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// KBPerGB converts ScaleIO's KB figures (sizeInKb, capacity statistics) to GB: 1024 * 1024.
const KBPerGB = 1024 * 1024

// ValidScaleIOObjectName reports whether v can be the name of a ScaleIO storage pool or
// protection domain given with -o: 1 to MaxScaleIONameLen printable characters, no spaces (the
// MDM's object name limit, error 226). The name is only compared with the gateway's own names,
// never put into a URL or a command.
func ValidScaleIOObjectName(v string) bool {
	if v == "" || len(v) > MaxScaleIONameLen {
		return false
	}
	for _, r := range v {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// snapshotOnly lists the options that may go with snapshotOf: a snapshot has its source's
// pool, protection domain, size, provisioning and file system (ScaleIO keeps a snapshot in its
// source's storage pool, in the same VTree); QoS belongs to the mapping and takeover to this host.
var snapshotOnly = map[string]bool{"snapshotOf": true, "iops": true, "bandwidthKBps": true, "takeover": true}

// snapshotConflicts returns one error per option given with snapshotOf that a snapshot cannot
// have, naming the option and why.
func snapshotConflicts(opts map[string]string) []error {
	var errs []error
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, known := optionHelp[k]; known && !snapshotOnly[k] {
			errs = append(errs, fmt.Errorf("option %s cannot go with snapshotOf: a snapshot has its source's pool, protection domain, size, provisioning, file system and data directory (allowed with snapshotOf: iops, bandwidthKBps, takeover)", k))
		}
	}
	return errs
}

// PoolRef is a storage pool as the driver chooses among them.
type PoolRef struct {
	ID                 string
	Name               string
	ProtectionDomainID string
	ProtectionDomain   string
	// MediaType is the pool's mediaType (HDD, SSD, Transitional); "" when the gateway gives none.
	MediaType string
}

// PickPool finds the pool named pool in protection domain pd among pools (every pool of the
// system). An unknown protection domain is refused naming the ones that exist; an unknown pool
// naming the pools of that protection domain.
func PickPool(pools []PoolRef, pd, pool string) (PoolRef, error) {
	var inPD []string
	pds := map[string]bool{}
	for _, p := range pools {
		pds[p.ProtectionDomain] = true
		if p.ProtectionDomain != pd {
			continue
		}
		if p.Name == pool {
			return p, nil
		}
		inPD = append(inPD, p.Name)
	}
	if !pds[pd] {
		return PoolRef{}, fmt.Errorf("protection domain %q does not exist: the protection domains are %s (option protectionDomain, default from the plugin config)", pd, quotedList(keys(pds)))
	}
	return PoolRef{}, fmt.Errorf("storage pool %q does not exist in protection domain %q: its pools are %s, e.g. -o pool=%s", pool, pd, quotedList(inPD), firstOr(inPD, "sp1"))
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func quotedList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func firstOr(names []string, def string) string {
	if len(names) == 0 {
		return def
	}
	sort.Strings(names)
	return names[0]
}

// CheckFits refuses a new volume of sizeGB (already rounded to 8 GB) that the pool's free
// capacity cannot hold. availableKB is the pool's capacityAvailableForVolumeAllocationInKb
// (StoragePool Statistics): the net capacity left for new volumes, after the second copy and
// spare, in 8 GB steps; it is what Dell's csi-powerflex GetCapacity and OpenStack cinder's
// ScaleIO driver (_compute_pool_stats: free_capacity_gb) report as free. A thin volume is held
// to the same figure: ScaleIO lets thin volumes together overcommit the pool, but one thin
// volume larger than the capacity left could never be written full, so it is refused too
// (its size, not its written data, is compared).
func CheckFits(sizeGB int, thin bool, availableKB int64, pool string) error {
	needKB := int64(sizeGB) * KBPerGB
	if needKB <= availableKB {
		return nil
	}
	kind := "thick"
	if thin {
		kind = "thin"
	}
	return fmt.Errorf("a %d GB %s volume does not fit storage pool %q: it has %d GB available for new volumes (capacityAvailableForVolumeAllocationInKb %d); ask for at most %d GB or use another pool (-o pool=...)",
		sizeGB, kind, pool, availableKB/KBPerGB, availableKB, availableKB/KBPerGB/GranularityGB*GranularityGB)
}

// GrowTo decides a resize: the new size, rounded up to 8 GB steps (setVolumeSize takes a
// multiple of 8 GB), from currentGB to askedGB. Shrinking is refused (ScaleIO cannot shrink a
// volume, and the file systems used here cannot shrink while mounted: xfs never); asking for the
// current size (after rounding) is no change.
func GrowTo(currentGB, askedGB int) (newGB int, change bool, err error) {
	if askedGB < 1 || askedGB > MaxSizeGB {
		return 0, false, fmt.Errorf("size %d GB is out of range: a whole number of GB from 1 to %d", askedGB, MaxSizeGB)
	}
	newGB = RoundUpGB(askedGB)
	switch {
	case newGB < currentGB:
		return currentGB, false, fmt.Errorf("shrinking is refused: the volume has %d GB and %d GB (rounded to %d GB) is smaller; ScaleIO volumes and xfs file systems only grow", currentGB, askedGB, newGB)
	case newGB == currentGB:
		return currentGB, false, nil
	}
	return newGB, true, nil
}
