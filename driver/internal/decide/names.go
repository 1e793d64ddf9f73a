// Package decide holds the driver's pure decisions: ScaleIO names for Docker names, option
// parsing, size rounding, per-mount-ID counting and whether a volume may move to this host.
// Nothing here does I/O; every function is table-tested.
package decide

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// MaxScaleIONameLen is the longest volume name ScaleIO accepts: the gateway answers error code
// 226 "The given name exceeds the allowed length of 31 characters" (dvol-reference §2).
const MaxScaleIONameLen = 31

// MaxDockerNameLen is the longest Docker volume name accepted: 255 bytes, NAME_MAX of Linux file
// systems. Docker's own local driver makes a directory of the name, so a longer name never works
// there either; the bound keeps hostile requests from growing the state file without limit.
const MaxDockerNameLen = 255

// MaxMountIDLen is the longest Docker mount ID accepted. Docker sends 64 hex digits
// (moby volume/mounts: stringid.GenerateRandomID); older Docker sent none.
const MaxMountIDLen = 128

// DefaultPrefix marks the ScaleIO volumes this plugin owns, so that List, Remove and the
// restart recovery never touch other volumes of the pool (such as the per-host volume under
// /var/lib/docker that the installer creates).
const DefaultPrefix = "dv-"

// MaxPrefixLen keeps room for a readable stem and the hash in a derived name.
const MaxPrefixLen = 6

// hashLen is the number of hex digits of SHA-256 kept in a derived name (80 bits).
const hashLen = 20

var (
	// dockerName is Docker's rule for volume names (moby volume/local: [a-zA-Z0-9][a-zA-Z0-9_.-]).
	dockerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	prefixRule = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	mountID    = regexp.MustCompile(`^[a-zA-Z0-9_.-]*$`)
)

// Namer turns Docker volume names into ScaleIO volume names and back.
//
// A Docker name N maps to Prefix+N when that fits in 31 characters and N does not look like a
// derived name; otherwise to Prefix + the first characters of N + "_" + 20 hex digits of
// SHA-256(N). Short names are therefore kept readable, long names (including Docker's 64-hex
// anonymous names) are never cut off blindly, and two different Docker names never share a
// ScaleIO name: identity names never match the derived pattern, and derived names differ
// unless 80 bits of SHA-256 collide.
type Namer struct {
	Prefix  string
	derived *regexp.Regexp
	stem    int
}

// NewNamer checks the prefix (1-6 characters of Docker's name alphabet) and returns a Namer.
func NewNamer(prefix string) (*Namer, error) {
	if prefix == "" || len(prefix) > MaxPrefixLen || !prefixRule.MatchString(prefix) {
		return nil, fmt.Errorf("volume name prefix %q: use 1 to %d characters of [a-zA-Z0-9_.-], starting with a letter or digit (default %q)", prefix, MaxPrefixLen, DefaultPrefix)
	}
	stem := MaxScaleIONameLen - len(prefix) - 1 - hashLen
	return &Namer{
		Prefix:  prefix,
		stem:    stem,
		derived: regexp.MustCompile(fmt.Sprintf(`^.{0,%d}_[0-9a-f]{%d}$`, stem, hashLen)),
	}, nil
}

// ValidDockerName reports whether name follows Docker's volume name rule and is at most
// MaxDockerNameLen bytes; the error says why not. Every handler that takes a name checks it with
// this one rule before it touches the gateway, the host or the state, so no name can climb out
// of the mount root ("/" and ".." cannot appear at the start or as a path separator).
func ValidDockerName(name string) error {
	if len(name) > MaxDockerNameLen {
		return fmt.Errorf("volume name %q... (%d bytes) is not valid: use 1 to %d characters of [a-zA-Z0-9_.-], starting with a letter or digit, e.g. data1", name[:32], len(name), MaxDockerNameLen)
	}
	if !dockerName.MatchString(name) {
		return fmt.Errorf("volume name %q is not valid: use 1 to %d characters of [a-zA-Z0-9_.-], starting with a letter or digit, e.g. data1", name, MaxDockerNameLen)
	}
	return nil
}

// ValidMountID reports whether id can be a Docker mount ID: empty (Docker before 1.13) or up to
// MaxMountIDLen characters of [a-zA-Z0-9_.-] (Docker sends 64 hex digits).
func ValidMountID(id string) error {
	if len(id) > MaxMountIDLen || !mountID.MatchString(id) {
		short := id
		if len(short) > 32 {
			short = short[:32] + "..."
		}
		return fmt.Errorf("mount ID %q is not valid: Docker sends up to %d characters of [a-zA-Z0-9_.-] (64 hex digits)", short, MaxMountIDLen)
	}
	return nil
}

// ScaleIOName returns the ScaleIO volume name for a Docker volume name (at most 31 characters).
func (n *Namer) ScaleIOName(dockerName string) string {
	if len(n.Prefix)+len(dockerName) <= MaxScaleIONameLen && !n.derived.MatchString(dockerName) {
		return n.Prefix + dockerName
	}
	sum := sha256.Sum256([]byte(dockerName))
	stem := dockerName
	if len(stem) > n.stem {
		stem = stem[:n.stem]
	}
	return n.Prefix + stem + "_" + hex.EncodeToString(sum[:])[:hashLen]
}

// Derived reports whether a ScaleIO name was derived from a long Docker name (so the Docker
// name cannot be read back from it).
func (n *Namer) Derived(scaleioName string) bool {
	rest, ok := strings.CutPrefix(scaleioName, n.Prefix)
	return ok && n.derived.MatchString(rest)
}

// Owned reports whether a ScaleIO volume name belongs to this plugin (starts with Prefix).
func (n *Namer) Owned(scaleioName string) bool {
	return strings.HasPrefix(scaleioName, n.Prefix)
}

// DockerName returns the Docker name of a ScaleIO name that was not derived, and false for
// derived names (their Docker name must come from the plugin's state).
func (n *Namer) DockerName(scaleioName string) (string, bool) {
	if !n.Owned(scaleioName) || n.Derived(scaleioName) {
		return "", false
	}
	return strings.TrimPrefix(scaleioName, n.Prefix), true
}
