package decide

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Filesystem types the driver formats volumes with.
const (
	FsXFS  = "xfs"
	FsExt4 = "ext4"
)

// DefaultSizeGB is the size of a volume created without -o size (REX-Ray's default, one of the
// anchors in dvol-reference §3).
const DefaultSizeGB = 16

// GranularityGB is ScaleIO's volume size step: sizes round UP to a multiple of 8 GB
// (scaleio-reference §4, dvol-reference §2; PowerFlex 5 uses 1 GB, not supported here).
const GranularityGB = 8

// MaxSizeGB is the largest volume size accepted, in GB: 1 PB (1024 * 1024 GB), ScaleIO's
// largest volume as its 2.x/3.x product limits give it (volumes of 8 GB to 1 PB). That figure is
// not in scaleio-reference.md or dvol-reference.md and was not found in the public pages
// searched: a gateway with a lower limit refuses the create itself. Either way the bound keeps
// every later computation in range: the size goes to the gateway in KB, at most 2^40 KB here,
// far below int64's limit (2^44 GB used to wrap around to 8 GB).
const MaxSizeGB = 1024 * 1024

// MinIOPSLimit is the smallest non-zero per-mapping IOPS limit ScaleIO accepts
// (setMappedSdcLimits iopsLimit: 0 = unlimited, else greater than 10; dvol-reference §2).
const MinIOPSLimit = 11

// MaxIOPSLimit is the largest per-mapping IOPS limit accepted: 2^31 - 1. dvol-reference §2 and
// the public pages searched give only the lower bound; 2^31 - 1, the largest 32-bit signed
// integer, is a conservative cap that any integer field (limitIops is read back as one) holds.
const MaxIOPSLimit = 1<<31 - 1

// BandwidthStepKBps is the unit of setMappedSdcLimits bandwidthLimitInKbps: 0 = unlimited,
// else a multiple of 1024 KB/s (read back as limitBwInMbps, MB/s; dvol-reference §2).
const BandwidthStepKBps = 1024

// MaxBandwidthKBps is the largest per-mapping bandwidth limit accepted, in KB/s: 2^31 - 1024, the
// largest multiple of 1024 below 2^31 (about 2 TB/s). As for MaxIOPSLimit, no documented upper
// bound was found; this is a conservative 32-bit cap.
const MaxBandwidthKBps = 1<<31 - BandwidthStepKBps

// MaxOwnerID is the largest uid or gid accepted for the data directory: 2^32 - 2. Linux ids are
// 32-bit unsigned, and 2^32 - 1 is (uid_t)-1, which chown(2) reads as "leave unchanged".
const MaxOwnerID = 1<<32 - 2

// MaxMode is the largest mode accepted for the data directory: permission bits plus setuid,
// setgid and sticky (chmod(2)).
const MaxMode = 0o7777

// Options are the per-volume settings given with `docker volume create -o key=value`.
type Options struct {
	// SizeGB is the size asked for, in GB, before rounding (see RoundUpGB).
	SizeGB int `json:"sizeGB"`
	// FsType is "xfs" or "ext4".
	FsType string `json:"fsType"`
	// Thin selects ThinProvisioned (true) or ThickProvisioned volumes.
	Thin bool `json:"thin"`
	// IOPS is the per-mapping IOPS limit; 0 means unlimited.
	IOPS int `json:"iops"`
	// BandwidthKBps is the per-mapping bandwidth limit in KB/s; 0 means unlimited.
	BandwidthKBps int `json:"bandwidthKBps"`
	// Mode, UID and GID are applied to the volume's data directory once, right after mkfs.
	Mode uint32 `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// Takeover asks this host to take the volume over from another host that still has it
	// mapped, even when that host's SDC is still connected to the MDM.
	Takeover bool `json:"takeover"`
	// Pool is the storage pool's name; "" means the config's storagePool.
	Pool string `json:"pool,omitempty"`
	// ProtectionDomain is the protection domain's name; "" means the config's protectionDomain.
	ProtectionDomain string `json:"protectionDomain,omitempty"`
	// SnapshotOf is the Docker volume this one is made from, as a ScaleIO snapshot; "" for a new
	// empty volume.
	SnapshotOf string `json:"snapshotOf,omitempty"`
}

// DefaultOptions are the settings of a volume created without options.
func DefaultOptions() Options {
	return Options{SizeGB: DefaultSizeGB, FsType: FsXFS, Thin: true, Mode: 0o755}
}

// optionHelp lists every option with its allowed values and an example, for error messages.
var optionHelp = map[string]string{
	"size":             fmt.Sprintf("a whole number of GB from 1 to %d (1 PB, ScaleIO's largest volume), rounded up to a multiple of %d, e.g. size=16", MaxSizeGB, GranularityGB),
	"fsType":           "xfs or ext4, e.g. fsType=xfs",
	"thin":             "true or false, e.g. thin=false",
	"iops":             fmt.Sprintf("0 (unlimited) or a whole number >= %d and <= %d, e.g. iops=500", MinIOPSLimit, MaxIOPSLimit),
	"bandwidthKBps":    fmt.Sprintf("0 (unlimited) or a multiple of %d from %d to %d KB/s, e.g. bandwidthKBps=10240 (10 MB/s)", BandwidthStepKBps, BandwidthStepKBps, MaxBandwidthKBps),
	"mode":             fmt.Sprintf("an octal mode from 0 to %04o, e.g. mode=0755", MaxMode),
	"uid":              fmt.Sprintf("a numeric user id from 0 to %d, e.g. uid=1000", uint64(MaxOwnerID)),
	"gid":              fmt.Sprintf("a numeric group id from 0 to %d, e.g. gid=1000", uint64(MaxOwnerID)),
	"takeover":         "true or false, e.g. takeover=true",
	"pool":             fmt.Sprintf("a storage pool name of 1 to %d characters, no spaces, e.g. pool=fast", MaxScaleIONameLen),
	"protectionDomain": fmt.Sprintf("a protection domain name of 1 to %d characters, no spaces, e.g. protectionDomain=pd1", MaxScaleIONameLen),
	"snapshotOf":       "the name of an existing Docker volume of this driver, e.g. snapshotOf=data1",
}

// OptionNames returns the known option names, sorted.
func OptionNames() []string {
	names := make([]string, 0, len(optionHelp))
	for k := range optionHelp {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func optionErr(key, value string) error {
	return fmt.Errorf("option %s=%q is not valid: allowed values are %s", key, value, optionHelp[key])
}

// ParseOptions reads Docker's -o options (strings only, as Docker sends them). It reports
// every bad or unknown option at once, each naming the option, the value, the allowed range and
// an example. Numbers are parsed as unsigned decimals of bounded size, so no value wraps around.
func ParseOptions(opts map[string]string) (Options, error) {
	o := DefaultOptions()
	var errs []error
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		value := strings.TrimSpace(opts[key])
		set, known := setters[key]
		if !known {
			errs = append(errs, fmt.Errorf("unknown option %q: allowed options are %s", key, strings.Join(OptionNames(), ", ")))
			continue
		}
		if !set(&o, value) {
			errs = append(errs, optionErr(key, value))
		}
	}
	if o.SnapshotOf != "" {
		errs = append(errs, snapshotConflicts(opts)...)
	}
	return o, joinOneLine(errs)
}

// setters parse one option's value into Options; false means the value is not allowed.
var setters = map[string]func(*Options, string) bool{
	"size": func(o *Options, v string) bool {
		n, ok := SizeGB(v)
		o.SizeGB = n
		return ok
	},
	"fsType": func(o *Options, v string) bool {
		if v != FsXFS && v != FsExt4 {
			return false
		}
		o.FsType = v
		return true
	},
	"thin": func(o *Options, v string) bool {
		b, err := strconv.ParseBool(v)
		if err == nil {
			o.Thin = b
		}
		return err == nil
	},
	"takeover": func(o *Options, v string) bool {
		b, err := strconv.ParseBool(v)
		if err == nil {
			o.Takeover = b
		}
		return err == nil
	},
	"iops": func(o *Options, v string) bool {
		n, ok := IOPSLimit(v)
		o.IOPS = n
		return ok
	},
	"bandwidthKBps": func(o *Options, v string) bool {
		n, ok := BandwidthLimitKBps(v)
		o.BandwidthKBps = n
		return ok
	},
	"mode": func(o *Options, v string) bool {
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > MaxMode {
			return false
		}
		o.Mode = uint32(n)
		return true
	},
	"uid": func(o *Options, v string) bool {
		n, ok := OwnerID(v)
		o.UID = n
		return ok
	},
	"gid": func(o *Options, v string) bool {
		n, ok := OwnerID(v)
		o.GID = n
		return ok
	},
	"pool": func(o *Options, v string) bool {
		o.Pool = v
		return ValidScaleIOObjectName(v)
	},
	"protectionDomain": func(o *Options, v string) bool {
		o.ProtectionDomain = v
		return ValidScaleIOObjectName(v)
	},
	"snapshotOf": func(o *Options, v string) bool {
		o.SnapshotOf = v
		return ValidDockerName(v) == nil
	},
}

// whole parses a plain decimal number (digits only: no sign, no spaces, no base prefix) that is
// at most max. It never wraps: values beyond max, or beyond 64 bits, are refused.
func whole(v string, max uint64) (uint64, bool) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

// SizeGB parses a size option: a whole number of GB from 1 to MaxSizeGB.
func SizeGB(v string) (int, bool) {
	n, ok := whole(v, MaxSizeGB)
	if !ok || n < 1 {
		return 0, false
	}
	return int(n), true
}

// IOPSLimit parses an iops option: 0 (unlimited) or MinIOPSLimit to MaxIOPSLimit IOPS.
func IOPSLimit(v string) (int, bool) {
	n, ok := whole(v, MaxIOPSLimit)
	if !ok || (n > 0 && n < MinIOPSLimit) {
		return 0, false
	}
	return int(n), true
}

// BandwidthLimitKBps parses a bandwidthKBps option: 0 (unlimited) or a multiple of
// BandwidthStepKBps up to MaxBandwidthKBps, in KB/s.
func BandwidthLimitKBps(v string) (int, bool) {
	n, ok := whole(v, MaxBandwidthKBps)
	if !ok || n%BandwidthStepKBps != 0 {
		return 0, false
	}
	return int(n), true
}

// OwnerID parses a uid or gid option: 0 to MaxOwnerID, as a 32-bit unsigned Linux id.
func OwnerID(v string) (int, bool) {
	n, ok := whole(v, MaxOwnerID)
	if !ok {
		return 0, false
	}
	return int(n), true
}

// joinOneLine joins errors with "; " so Docker shows them on one line.
func joinOneLine(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return errors.New(strings.Join(parts, "; "))
}

// RoundUpGB returns the size ScaleIO will really allocate for a request of gb GB: the next
// multiple of 8 GB, at least 8 GB. It never rounds down.
func RoundUpGB(gb int) int {
	if gb <= GranularityGB {
		return GranularityGB
	}
	return (gb + GranularityGB - 1) / GranularityGB * GranularityGB
}
