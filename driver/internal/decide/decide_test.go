package decide

import (
	"strings"
	"testing"
)

func mustNamer(t *testing.T) *Namer {
	t.Helper()
	n, err := NewNamer(DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScaleIOName(t *testing.T) {
	n := mustNamer(t)
	anon := strings.Repeat("ab12", 16) // 64 hex, like Docker's anonymous volumes
	long1 := "postgres-data-for-the-billing-service-primary"
	long2 := "postgres-data-for-the-billing-service-replica"
	tests := []struct {
		name     string
		docker   string
		want     string // exact, when not empty
		derived  bool
		readBack bool
	}{
		{name: "short name kept readable", docker: "data1", want: "dv-data1", readBack: true},
		{name: "exactly 28 characters fits with the prefix", docker: strings.Repeat("a", 28), want: "dv-" + strings.Repeat("a", 28), readBack: true},
		{name: "29 characters is derived", docker: strings.Repeat("a", 29), derived: true},
		{name: "anonymous 64-hex name is derived", docker: anon, derived: true},
		{name: "long name is derived", docker: long1, derived: true},
		{name: "short name that looks derived is derived too", docker: "x_0123456789abcdef0123", derived: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := n.ScaleIOName(tc.docker)
			if len(got) > MaxScaleIONameLen {
				t.Fatalf("ScaleIOName(%q) = %q, %d characters, want at most %d", tc.docker, got, len(got), MaxScaleIONameLen)
			}
			if tc.want != "" && got != tc.want {
				t.Fatalf("ScaleIOName(%q) = %q, want %q", tc.docker, got, tc.want)
			}
			if n.Derived(got) != tc.derived {
				t.Fatalf("Derived(%q) = %v, want %v", got, !tc.derived, tc.derived)
			}
			if got != n.ScaleIOName(tc.docker) {
				t.Fatal("not deterministic")
			}
			back, ok := n.DockerName(got)
			if ok != tc.readBack || (ok && back != tc.docker) {
				t.Fatalf("DockerName(%q) = %q, %v; want %q, %v", got, back, ok, tc.docker, tc.readBack)
			}
			if !n.Owned(got) {
				t.Fatalf("Owned(%q) = false", got)
			}
		})
	}
	t.Run("long names with the same start do not collide", func(t *testing.T) {
		a, b := n.ScaleIOName(long1), n.ScaleIOName(long2)
		if a == b {
			t.Fatalf("%q and %q both map to %q", long1, long2, a)
		}
		if !strings.HasPrefix(a, "dv-postgre") {
			t.Fatalf("derived name %q should keep the start of the name", a)
		}
	})
	t.Run("a short name never equals another name's derived form", func(t *testing.T) {
		d := n.ScaleIOName(long1)
		short := strings.TrimPrefix(d, "dv-")
		if n.ScaleIOName(short) == d {
			t.Fatalf("%q and %q collide on %q", short, long1, d)
		}
	})
}

func TestNewNamerRejectsBadPrefixes(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		ok           bool
	}{
		{"default", "dv-", true},
		{"empty", "", false},
		{"too long", "toolong", false},
		{"bad character", "d/v", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewNamer(tc.prefix)
			if (err == nil) != tc.ok {
				t.Fatalf("NewNamer(%q) error = %v, want ok=%v", tc.prefix, err, tc.ok)
			}
		})
	}
}

func TestValidDockerName(t *testing.T) {
	for _, tc := range []struct {
		name, docker string
		ok           bool
	}{
		{"plain", "data1", true},
		{"dots dashes underscores", "a.b-c_d", true},
		{"leading dash", "-x", false},
		{"slash", "a/b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidDockerName(tc.docker); (err == nil) != tc.ok {
				t.Fatalf("ValidDockerName(%q) = %v, want ok=%v", tc.docker, err, tc.ok)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name   string
		opts   map[string]string
		want   func(Options) bool
		errHas []string // every one must be in the error; nil means no error
	}{
		{name: "defaults", opts: nil, want: func(o Options) bool { return o == DefaultOptions() }},
		{name: "all options", opts: map[string]string{"size": "10", "fsType": "ext4", "thin": "false", "iops": "500", "bandwidthKBps": "2048", "mode": "0750", "uid": "1000", "gid": "1001", "takeover": "true"},
			want: func(o Options) bool {
				return o == Options{SizeGB: 10, FsType: "ext4", Thin: false, IOPS: 500, BandwidthKBps: 2048, Mode: 0o750, UID: 1000, GID: 1001, Takeover: true}
			}},
		{name: "iops 0 is unlimited", opts: map[string]string{"iops": "0"}, want: func(o Options) bool { return o.IOPS == 0 }},
		{name: "iops 11 is the minimum", opts: map[string]string{"iops": "11"}, want: func(o Options) bool { return o.IOPS == 11 }},
		{name: "iops 10 refused", opts: map[string]string{"iops": "10"}, errHas: []string{"option iops=\"10\"", "0 (unlimited) or a whole number >= 11"}},
		{name: "iops 1 refused", opts: map[string]string{"iops": "1"}, errHas: []string{"iops"}},
		{name: "bandwidth not a multiple of 1024", opts: map[string]string{"bandwidthKBps": "1000"}, errHas: []string{"option bandwidthKBps=\"1000\"", "multiple of 1024"}},
		{name: "unknown fsType", opts: map[string]string{"fsType": "btrfs"}, errHas: []string{"option fsType=\"btrfs\"", "xfs or ext4"}},
		{name: "unknown option", opts: map[string]string{"colour": "blue"}, errHas: []string{"unknown option \"colour\"", "bandwidthKBps, fsType, gid, iops, mode, pool, protectionDomain, size, snapshotOf, takeover, thin, uid"}},
		{name: "size zero", opts: map[string]string{"size": "0"}, errHas: []string{"option size=\"0\""}},
		{name: "size not a number", opts: map[string]string{"size": "10G"}, errHas: []string{"option size=\"10G\""}},
		{name: "bad mode", opts: map[string]string{"mode": "0999"}, errHas: []string{"option mode"}},
		{name: "negative uid", opts: map[string]string{"uid": "-1"}, errHas: []string{"option uid"}},
		{name: "thin not a bool", opts: map[string]string{"thin": "maybe"}, errHas: []string{"option thin", "true or false"}},
		{name: "every problem at once, one line", opts: map[string]string{"iops": "5", "fsType": "zfs"}, errHas: []string{"iops", "fsType", "; "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOptions(tc.opts)
			if tc.errHas == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !tc.want(o) {
					t.Fatalf("got %+v", o)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q, got none (options %+v)", tc.errHas, o)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestRoundUpGB(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want int
	}{
		{"1 GB gives the minimum 8", 1, 8},
		{"8 stays", 8, 8},
		{"9 rounds up, never down", 9, 16},
		{"10 gives 16", 10, 16},
		{"16 stays", 16, 16},
		{"17 gives 24", 17, 24},
		{"1000 gives 1000", 1000, 1000},
		{"1001 gives 1008", 1001, 1008},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RoundUpGB(tc.in); got != tc.want {
				t.Fatalf("RoundUpGB(%d) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestMounts(t *testing.T) {
	type step struct {
		op          string // "add" or "remove"
		id          string
		first       bool // add
		known, last bool // remove
	}
	tests := []struct {
		name  string
		steps []step
		total int
	}{
		{name: "one container", steps: []step{{op: "add", id: "a", first: true}, {op: "remove", id: "a", known: true, last: true}}},
		{name: "docker cp repeats the same id", steps: []step{
			{op: "add", id: "a", first: true}, {op: "add", id: "a"}, {op: "remove", id: "a", known: true},
			{op: "remove", id: "a", known: true, last: true}}},
		{name: "two containers: stopping one keeps it", steps: []step{
			{op: "add", id: "a", first: true}, {op: "add", id: "b"}, {op: "remove", id: "a", known: true}}, total: 1},
		{name: "unknown id is a no-op", steps: []step{{op: "add", id: "a", first: true}, {op: "remove", id: "zzz"}}, total: 1},
		{name: "never below zero", steps: []step{{op: "add", id: "a", first: true}, {op: "remove", id: "a", known: true, last: true}, {op: "remove", id: "a"}, {op: "add", id: "a", first: true}}, total: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Mounts
			for i, s := range tc.steps {
				switch s.op {
				case "add":
					if first := m.Add(s.id); first != s.first {
						t.Fatalf("step %d: Add(%q) first = %v, want %v", i, s.id, first, s.first)
					}
				case "remove":
					known, last := m.Remove(s.id)
					if known != s.known || last != s.last {
						t.Fatalf("step %d: Remove(%q) = %v, %v; want %v, %v", i, s.id, known, last, s.known, s.last)
					}
				}
			}
			if m.Total() != tc.total {
				t.Fatalf("Total() = %d, want %d", m.Total(), tc.total)
			}
		})
	}
}

func TestDecideMove(t *testing.T) {
	a := Mapping{SdcID: "a", Host: "hostA", Connected: true}
	aDown := Mapping{SdcID: "a", Host: "hostA", Connected: false}
	me := Mapping{SdcID: "me", Host: "me", Connected: true}
	tests := []struct {
		name     string
		mappings []Mapping
		force    bool
		want     Action
		reason   string
	}{
		{name: "unmapped: map here", want: MapHere},
		{name: "mapped here: use", mappings: []Mapping{me}, want: UseHere},
		{name: "mapped to a connected host: refused naming it", mappings: []Mapping{a}, want: Refuse, reason: "hostA"},
		{name: "mapped to a disconnected host: taken over", mappings: []Mapping{aDown}, want: TakeOver, reason: "disconnected"},
		{name: "forced takeover from a connected host", mappings: []Mapping{a}, force: true, want: TakeOver, reason: "takeover requested"},
		{name: "mapped here and elsewhere: the other must go", mappings: []Mapping{me, a}, want: Refuse, reason: "hostA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideMove("me", tc.mappings, tc.force)
			if got.Action != tc.want {
				t.Fatalf("action = %v, want %v (%s)", got.Action, tc.want, got.Reason)
			}
			if !strings.Contains(got.Reason, tc.reason) {
				t.Fatalf("reason %q does not contain %q", got.Reason, tc.reason)
			}
			if got.Action == TakeOver && (len(got.From) != 1 || got.From[0].SdcID != "a") {
				t.Fatalf("From = %+v, want host a", got.From)
			}
		})
	}
}
