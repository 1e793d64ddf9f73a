package decide

import (
	"strings"
	"testing"
)

// hostile lists, per numeric option, values an attacker (or a typo) could send to the socket:
// each must be refused with one error naming the option, the value, the range and an example.
var hostile = map[string][]string{
	"size": {
		"17592186044424",                                                                // 2^44 + 8 GB: wrapped to 8 GB before
		"9223372036854775807",                                                           // max int64: wrapped to 8 GB before
		"18446744073709551616",                                                          // 2^64
		"1048577",                                                                       // 1 PB + 1 GB
		"0", "-1", "-8", "+16", "0x10", "1e3", "16GB", "16 GB", "1_000", "1.5", "", "٣", // Arabic-Indic 3
	},
	"iops": {
		"2147483648", "9223372036854775807", "18446744073709551616", "-11", "10", "1", "+500",
		"500.0", "0x1f4", "",
	},
	"bandwidthKBps": {
		"2147483648", // 2^31, a multiple of 1024 but over the 32-bit field
		"9223372036854774784", "18446744073709550592", "-1024", "1000", "1025", "+1024", "",
	},
	"uid": {
		"4294967296", // 2^32: left the data folder owned by uid 0 before
		"4294967295", // (uid_t)-1: chown's "unchanged"
		"4294967297", "18446744073709551616", "-1", "+0", "0x0", "root", "1000.0", "",
	},
	"gid":  {"4294967296", "4294967297", "4294967295", "-1", "wheel", ""},
	"mode": {"010000", "07778", "8", "-1", "0x1ff", "rwx", ""},
}

// rangeText is what each option's error must show as its allowed range.
var rangeText = map[string]string{
	"size":          "from 1 to 1048576 (1 PB",
	"iops":          ">= 11 and <= 2147483647",
	"bandwidthKBps": "multiple of 1024 from 1024 to 2147482624 KB/s",
	"uid":           "from 0 to 4294967294",
	"gid":           "from 0 to 4294967294",
	"mode":          "from 0 to 7777",
}

func TestParseOptionsRefusesHostileNumbers(t *testing.T) {
	for key, values := range hostile {
		for _, v := range values {
			t.Run(key+"="+v, func(t *testing.T) {
				o, err := ParseOptions(map[string]string{key: v})
				if err == nil {
					t.Fatalf("accepted, giving %+v", o)
				}
				msg := err.Error()
				for _, want := range []string{
					"option " + key + "=\"" + strings.TrimSpace(v) + "\" is not valid",
					rangeText[key],
					"e.g. " + key + "=",
				} {
					if !strings.Contains(msg, want) {
						t.Fatalf("error %q does not contain %q", msg, want)
					}
				}
			})
		}
	}
}

func TestParseOptionsAcceptsTheBounds(t *testing.T) {
	tests := []struct {
		key, value string
		got        func(Options) int
		want       int
	}{
		{"size", "1", func(o Options) int { return o.SizeGB }, 1},
		{"size", "1048576", func(o Options) int { return o.SizeGB }, MaxSizeGB},
		{"size", " 16 ", func(o Options) int { return o.SizeGB }, 16},
		{"iops", "0", func(o Options) int { return o.IOPS }, 0},
		{"iops", "11", func(o Options) int { return o.IOPS }, 11},
		{"iops", "2147483647", func(o Options) int { return o.IOPS }, MaxIOPSLimit},
		{"bandwidthKBps", "0", func(o Options) int { return o.BandwidthKBps }, 0},
		{"bandwidthKBps", "1024", func(o Options) int { return o.BandwidthKBps }, 1024},
		{"bandwidthKBps", "2147482624", func(o Options) int { return o.BandwidthKBps }, MaxBandwidthKBps},
		{"uid", "0", func(o Options) int { return o.UID }, 0},
		{"uid", "4294967294", func(o Options) int { return o.UID }, 4294967294},
		{"gid", "4294967294", func(o Options) int { return o.GID }, 4294967294},
		{"mode", "07777", func(o Options) int { return int(o.Mode) }, 0o7777},
		{"mode", "0", func(o Options) int { return int(o.Mode) }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			o, err := ParseOptions(map[string]string{tc.key: tc.value})
			if err != nil {
				t.Fatal(err)
			}
			if g := tc.got(o); g != tc.want {
				t.Fatalf("got %d, want %d", g, tc.want)
			}
		})
	}
}

func TestRoundUpGBAtTheMaximumStaysInRange(t *testing.T) {
	if got := RoundUpGB(MaxSizeGB); got != MaxSizeGB {
		t.Fatalf("RoundUpGB(MaxSizeGB) = %d, want %d (1 PB is a multiple of 8)", got, MaxSizeGB)
	}
	if got := RoundUpGB(MaxSizeGB - 7); got != MaxSizeGB {
		t.Fatalf("RoundUpGB(MaxSizeGB-7) = %d, want %d", got, MaxSizeGB)
	}
}

// hostileNames are refused by every handler (core tests use the same list).
var hostileNames = []string{
	"x/../../../../../../tmp/evil", "../evil", "..", ".", "", "/tmp/evil", "a/b", "-rf", ".hidden",
	"_x", "a b", "a\nb", "a\x00b", "dätä", "a;id", "$(id)", "a`id`", "a|b", strings.Repeat("a", 256),
}

func TestValidDockerNameRefusesHostileNames(t *testing.T) {
	for _, n := range hostileNames {
		t.Run(n, func(t *testing.T) {
			err := ValidDockerName(n)
			if err == nil || !strings.Contains(err.Error(), "is not valid") || !strings.Contains(err.Error(), "e.g. data1") {
				t.Fatalf("ValidDockerName(%q) = %v, want a refusal with the rule and an example", n, err)
			}
			if strings.ContainsAny(err.Error(), "\n\x00") {
				t.Fatalf("error %q is not one printable line", err)
			}
		})
	}
	for _, ok := range []string{"data1", "a.b-c_d", "0", strings.Repeat("f", 64), strings.Repeat("a", MaxDockerNameLen)} {
		if err := ValidDockerName(ok); err != nil {
			t.Fatalf("ValidDockerName(%q): %v", ok, err)
		}
	}
}

func TestValidMountID(t *testing.T) {
	for _, id := range []string{"", "abc", strings.Repeat("0f", 32), strings.Repeat("a", MaxMountIDLen)} {
		if err := ValidMountID(id); err != nil {
			t.Fatalf("ValidMountID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"../x", "a/b", "a b", "a\nb", strings.Repeat("a", MaxMountIDLen+1)} {
		if err := ValidMountID(id); err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("ValidMountID(%q) = %v, want a one-line refusal", id, err)
		}
	}
}
