package decide

import (
	"strings"
	"testing"
)

func TestParseOptionsPoolDomainSnapshot(t *testing.T) {
	tests := []struct {
		name   string
		opts   map[string]string
		want   Options
		errHas []string
	}{
		{name: "pool and protection domain", opts: map[string]string{"pool": "fast", "protectionDomain": "pd2"},
			want: Options{Pool: "fast", ProtectionDomain: "pd2"}},
		{name: "no pool given leaves it to the config", opts: map[string]string{}, want: Options{}},
		{name: "pool name too long", opts: map[string]string{"pool": strings.Repeat("p", 32)},
			errHas: []string{`option pool="` + strings.Repeat("p", 32) + `" is not valid`, "1 to 31 characters"}},
		{name: "pool with a space", opts: map[string]string{"pool": "my pool"}, errHas: []string{`option pool="my pool"`}},
		{name: "empty protection domain", opts: map[string]string{"protectionDomain": ""}, errHas: []string{`option protectionDomain=""`}},
		{name: "snapshotOf a volume", opts: map[string]string{"snapshotOf": "data1", "iops": "500"},
			want: Options{SnapshotOf: "data1", IOPS: 500}},
		{name: "snapshotOf a bad name", opts: map[string]string{"snapshotOf": "../x"}, errHas: []string{`option snapshotOf="../x"`}},
		{name: "snapshotOf with size, pool and fsType: each refused, naming why", opts: map[string]string{"snapshotOf": "data1", "size": "32", "pool": "fast", "fsType": "ext4"},
			errHas: []string{"option fsType cannot go with snapshotOf", "option pool cannot go with snapshotOf", "option size cannot go with snapshotOf", "its source's pool"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOptions(tc.opts)
			if len(tc.errHas) > 0 {
				if err == nil {
					t.Fatalf("want an error, got %+v", o)
				}
				for _, h := range tc.errHas {
					if !strings.Contains(err.Error(), h) {
						t.Fatalf("error %q does not contain %q", err, h)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Pool != tc.want.Pool || o.ProtectionDomain != tc.want.ProtectionDomain || o.SnapshotOf != tc.want.SnapshotOf || o.IOPS != tc.want.IOPS {
				t.Fatalf("got %+v, want %+v", o, tc.want)
			}
		})
	}
}

var testPools = []PoolRef{
	{ID: "a", Name: "sp1", ProtectionDomain: "pd1", MediaType: "HDD"},
	{ID: "b", Name: "fast", ProtectionDomain: "pd1", MediaType: "SSD"},
	{ID: "c", Name: "sp1", ProtectionDomain: "pd2"},
}

func TestPickPool(t *testing.T) {
	tests := []struct {
		name, pd, pool, wantID string
		errHas                 []string
	}{
		{name: "by name in its protection domain", pd: "pd1", pool: "fast", wantID: "b"},
		{name: "one name in two protection domains", pd: "pd2", pool: "sp1", wantID: "c"},
		{name: "unknown pool names the pools of that domain only", pd: "pd1", pool: "slow",
			errHas: []string{`storage pool "slow" does not exist in protection domain "pd1": its pools are "fast", "sp1"`, "-o pool=fast"}},
		{name: "a pool of another domain is unknown here", pd: "pd2", pool: "fast", errHas: []string{`its pools are "sp1"`}},
		{name: "unknown protection domain names the domains", pd: "pd9", pool: "sp1",
			errHas: []string{`protection domain "pd9" does not exist: the protection domains are "pd1", "pd2"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PickPool(testPools, tc.pd, tc.pool)
			if len(tc.errHas) > 0 {
				for _, h := range tc.errHas {
					if err == nil || !strings.Contains(err.Error(), h) {
						t.Fatalf("error %v does not contain %q", err, h)
					}
				}
				return
			}
			if err != nil || p.ID != tc.wantID {
				t.Fatalf("got %+v, %v; want pool id %s", p, err, tc.wantID)
			}
		})
	}
}

func TestCheckFits(t *testing.T) {
	tests := []struct {
		name    string
		sizeGB  int
		thin    bool
		availKB int64
		errHas  []string
	}{
		{name: "exactly the capacity left", sizeGB: 64, availKB: 64 * KBPerGB},
		{name: "thick over by 8 GB, with the numbers", sizeGB: 72, availKB: 64 * KBPerGB,
			errHas: []string{"a 72 GB thick volume does not fit storage pool \"fast\"", "64 GB available", "capacityAvailableForVolumeAllocationInKb 67108864", "at most 64 GB"}},
		{name: "thin is held to the same figure", sizeGB: 72, thin: true, availKB: 64 * KBPerGB, errHas: []string{"72 GB thin volume"}},
		{name: "an empty pool", sizeGB: 8, availKB: 0, errHas: []string{"0 GB available", "at most 0 GB"}},
		{name: "the largest volume in a large pool", sizeGB: MaxSizeGB, availKB: int64(MaxSizeGB) * KBPerGB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckFits(tc.sizeGB, tc.thin, tc.availKB, "fast")
			if len(tc.errHas) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, h := range tc.errHas {
				if err == nil || !strings.Contains(err.Error(), h) {
					t.Fatalf("error %v does not contain %q", err, h)
				}
			}
		})
	}
}

func TestGrowTo(t *testing.T) {
	tests := []struct {
		name       string
		cur, asked int
		want       int
		change     bool
		errHas     string
	}{
		{name: "grow rounds up to 8 GB", cur: 16, asked: 20, want: 24, change: true},
		{name: "same size is no change", cur: 16, asked: 16, want: 16},
		{name: "a size that rounds to the current one is no change", cur: 16, asked: 9, want: 16},
		{name: "shrink refused", cur: 24, asked: 8, want: 24, errHas: "shrinking is refused: the volume has 24 GB"},
		{name: "zero refused", cur: 8, asked: 0, errHas: "out of range"},
		{name: "over 1 PB refused", cur: 8, asked: MaxSizeGB + 1, errHas: "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, change, err := GrowTo(tc.cur, tc.asked)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %v, want one containing %q", err, tc.errHas)
				}
				if change {
					t.Fatal("a refused resize says change")
				}
				return
			}
			if err != nil || got != tc.want || change != tc.change {
				t.Fatalf("GrowTo(%d, %d) = %d, %v, %v; want %d, %v", tc.cur, tc.asked, got, change, err, tc.want, tc.change)
			}
		})
	}
}
