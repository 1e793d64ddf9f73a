package decide

// Mounts counts Docker's mounts of one volume on this host per mount ID. Docker sends a
// random ID per container mount point and reuses it for Unmount; `docker cp` into a running
// container sends Mount again with the SAME ID, then one Unmount (dvol-reference §1). So a
// repeated ID adds to its count, and the volume is released only when every count is zero.
// The zero value is ready to use; it is a plain map so the state file can persist it.
type Mounts map[string]int

// Add records one Mount call for id and reports whether it is the first holder of the volume
// on this host (the caller then attaches the volume).
func (m *Mounts) Add(id string) (first bool) {
	if *m == nil {
		*m = Mounts{}
	}
	first = m.Total() == 0
	(*m)[id]++
	return first
}

// Remove records one Unmount call for id. known is false for an ID this host never mounted
// (Docker before 1.13 sent Unmount after a failed Mount): a no-op. last is true when no holder
// remains (the caller then releases the volume). Counts never go below zero.
func (m *Mounts) Remove(id string) (known, last bool) {
	n, ok := (*m)[id]
	if !ok || n <= 0 {
		return false, false
	}
	if n == 1 {
		delete(*m, id)
	} else {
		(*m)[id] = n - 1
	}
	return true, m.Total() == 0
}

// Total is the number of outstanding Mount calls over all IDs.
func (m Mounts) Total() int {
	t := 0
	for _, n := range m {
		if n > 0 {
			t += n
		}
	}
	return t
}
