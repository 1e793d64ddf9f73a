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

// MinIOPSLimit is the smallest non-zero per-mapping IOPS limit ScaleIO accepts
// (setMappedSdcLimits iopsLimit: 0 = unlimited, else greater than 10; dvol-reference §2).
const MinIOPSLimit = 11

// BandwidthStepKBps is the unit of setMappedSdcLimits bandwidthLimitInKbps: 0 = unlimited,
// else a multiple of 1024 KB/s (read back as limitBwInMbps, MB/s; dvol-reference §2).
const BandwidthStepKBps = 1024

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
}

// DefaultOptions are the settings of a volume created without options.
func DefaultOptions() Options {
	return Options{SizeGB: DefaultSizeGB, FsType: FsXFS, Thin: true, Mode: 0o755}
}

// optionHelp lists every option with its allowed values, for error messages.
var optionHelp = map[string]string{
	"size":          "a whole number of GB >= 1 (rounded up to a multiple of 8)",
	"fsType":        "xfs or ext4",
	"thin":          "true or false",
	"iops":          fmt.Sprintf("0 (unlimited) or a whole number >= %d", MinIOPSLimit),
	"bandwidthKBps": fmt.Sprintf("0 (unlimited) or a multiple of %d", BandwidthStepKBps),
	"mode":          "an octal mode such as 0755 (at most 07777)",
	"uid":           "a numeric user id >= 0",
	"gid":           "a numeric group id >= 0",
	"takeover":      "true or false",
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
// every bad or unknown option at once, each naming the option and its allowed values.
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
		switch key {
		case "size":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				errs = append(errs, optionErr(key, value))
				continue
			}
			o.SizeGB = n
		case "fsType":
			if value != FsXFS && value != FsExt4 {
				errs = append(errs, optionErr(key, value))
				continue
			}
			o.FsType = value
		case "thin", "takeover":
			b, err := strconv.ParseBool(value)
			if err != nil {
				errs = append(errs, optionErr(key, value))
				continue
			}
			if key == "thin" {
				o.Thin = b
			} else {
				o.Takeover = b
			}
		case "iops":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || (n > 0 && n < MinIOPSLimit) {
				errs = append(errs, optionErr(key, value))
				continue
			}
			o.IOPS = n
		case "bandwidthKBps":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || n%BandwidthStepKBps != 0 {
				errs = append(errs, optionErr(key, value))
				continue
			}
			o.BandwidthKBps = n
		case "mode":
			n, err := strconv.ParseUint(value, 8, 32)
			if err != nil || n > 0o7777 {
				errs = append(errs, optionErr(key, value))
				continue
			}
			o.Mode = uint32(n)
		case "uid", "gid":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				errs = append(errs, optionErr(key, value))
				continue
			}
			if key == "uid" {
				o.UID = n
			} else {
				o.GID = n
			}
		default:
			errs = append(errs, fmt.Errorf("unknown option %q: allowed options are %s", key, strings.Join(OptionNames(), ", ")))
		}
	}
	return o, joinOneLine(errs)
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
