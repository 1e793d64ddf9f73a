// Package gateway is the driver's only user of Dell's goscaleio: it logs in to the ScaleIO REST
// gateway, finds, creates, maps, limits and removes volumes, and sorts the gateway's failures
// into the sentinel errors below by the gateway's errorCode.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dell/goscaleio"
	types "github.com/dell/goscaleio/types/v1"

	"arrowhead/driver/internal/decide"
)

// Gateway error codes the driver tells apart (dvol-reference §2; ScaleIO 2.x/3.x answer JSON
// {message, httpStatusCode, errorCode}, mostly with HTTP 500).
const (
	CodeVolumeNotFound    = 79
	CodeVolumeNotFoundOld = 78
	CodeAlreadyMapped     = 81
	CodeNotMapped         = 84
	CodeNameTooLong       = 226
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound: the volume does not exist (codes 79, older 78).
	ErrNotFound = errors.New("volume not found")
	// ErrAlreadyMapped: the volume is already mapped to that SDC (code 81).
	ErrAlreadyMapped = errors.New("volume already mapped to this SDC")
	// ErrNotMapped: the volume is not mapped to that SDC (code 84).
	ErrNotMapped = errors.New("volume not mapped to this SDC")
	// ErrNameTooLong: the name exceeds 31 characters (code 226).
	ErrNameTooLong = errors.New("volume name too long")
	// ErrUnreachable: no answer from the gateway within the call's time budget.
	ErrUnreachable = errors.New("gateway unreachable")
)

// Volume is what the driver needs of a ScaleIO volume.
type Volume struct {
	ID   string
	Name string
	// SizeGB is the real size (sizeInKb / 1024^2).
	SizeGB int
	// Thin is volumeType == ThinProvisioned.
	Thin bool
	// PoolID is storagePoolId.
	PoolID string
	// AncestorID is ancestorVolumeId: the volume this one is a snapshot of ("" for a volume).
	AncestorID string
	Mappings   []Mapping
}

// Mapping is one entry of a volume's mappedSdcInfo.
type Mapping struct {
	SdcID string
	SdcIP string
	// LimitIops is the mapping's IOPS limit (0 = unlimited).
	LimitIops int
	// LimitBwMBps is the mapping's bandwidth limit as read back, in MB/s (0 = unlimited).
	LimitBwMBps int
}

// Sdc is one SDC registered with the MDM.
type Sdc struct {
	ID   string
	GUID string
	IP   string
	Name string
	// Connected is mdmConnectionState == "Connected".
	Connected bool
}

// Config says where the gateway is and which system to use (the storage pool is chosen per
// volume by core).
type Config struct {
	// URL is the gateway's base URL, e.g. https://10.0.0.1:443.
	URL      string
	User     string
	Password string
	// System is the ScaleIO system id or name.
	System string
	// Insecure skips TLS certificate checks (lab gateways with a self-signed certificate).
	// For a private CA set SSL_CERT_FILE before the first call instead (main does this).
	Insecure bool
	// CallTimeout bounds each HTTP request.
	CallTimeout time.Duration
}

// Client talks to one gateway. It logs in lazily (so the plugin starts even while the gateway
// is down) and serializes calls: goscaleio keeps the call's context in the client.
type Client struct {
	cfg Config

	mu       sync.Mutex
	c        *goscaleio.Client
	system   *goscaleio.System
	systemID string
	// pools are the storage pools as last listed (with their links), by id.
	pools map[string]*types.StoragePool
}

// New returns a Client; nothing is contacted yet.
func New(cfg Config) *Client {
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 20 * time.Second
	}
	return &Client{cfg: cfg}
}

// classify turns a goscaleio failure into one of the sentinels (kept wrapped, with the
// gateway's message) or a plain error carrying the gateway's message.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, known := range []error{errUnauthorized, ErrNotFound, ErrUnreachable, ErrCertificateMismatch} {
		if errors.Is(err, known) {
			return err
		}
	}
	var ge *types.Error
	if errors.As(err, &ge) {
		msg := strings.TrimSpace(ge.Message)
		switch ge.ErrorCode {
		case CodeVolumeNotFound, CodeVolumeNotFoundOld:
			return fmt.Errorf("%w: %s (code %d)", ErrNotFound, msg, ge.ErrorCode)
		case CodeAlreadyMapped:
			return fmt.Errorf("%w: %s (code %d)", ErrAlreadyMapped, msg, ge.ErrorCode)
		case CodeNotMapped:
			return fmt.Errorf("%w: %s (code %d)", ErrNotMapped, msg, ge.ErrorCode)
		case CodeNameTooLong:
			return fmt.Errorf("%w: %s (code %d)", ErrNameTooLong, msg, ge.ErrorCode)
		}
		switch {
		case ge.HTTPStatusCode == 401:
			return fmt.Errorf("%w: %s", errUnauthorized, msg)
		case strings.Contains(msg, ErrCertificateMismatch.Error()):
			// the pinned forwarder's answer (HTTP 502) carries the steps to accept a new certificate
			return fmt.Errorf("%w%s", ErrCertificateMismatch, strings.SplitN(msg, ErrCertificateMismatch.Error(), 2)[1])
		case ge.HTTPStatusCode == 502 && unreachable(msg):
			return fmt.Errorf("%w: %s", ErrUnreachable, msg)
		}
		return fmt.Errorf("%s (HTTP %d, code %d)", msg, ge.HTTPStatusCode, ge.ErrorCode)
	}
	s := err.Error()
	if errors.Is(err, context.DeadlineExceeded) || unreachable(s) {
		return fmt.Errorf("%w: %s", ErrUnreachable, oneLine(s))
	}
	if strings.Contains(s, "Error Authenticating") && strings.Contains(s, "401") {
		return fmt.Errorf("%w: %s", errUnauthorized, oneLine(s))
	}
	return errors.New(oneLine(s))
}

// unreachable reports the words of a connection that failed or timed out (Go's net errors).
func unreachable(s string) bool {
	for _, w := range []string{"Client.Timeout", "connection refused", "no route to host", "i/o timeout", "connection reset", "TLS handshake timeout", "context deadline exceeded"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// call runs fn with the client logged in and ctx as its context; it logs in on first use. A
// session the gateway no longer accepts (HTTP 401: token expired or revoked) is renewed once per
// call and fn runs again. goscaleio v1.20.0 re-authenticates on 401 itself in getJSONWithRetry
// and getStringWithRetry (api.go), but the string path drops the retried call's error (it
// returns "", nil), and a 401 whose body is not JSON is never seen as one; this covers both.
func (g *Client) call(ctx context.Context, fn func(c *goscaleio.Client) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	err := g.attempt(ctx, fn)
	if IsUnauthorized(err) {
		g.c = nil
		err = g.attempt(ctx, fn)
	}
	return err
}

// attempt runs fn once (logging in when there is no session), bounded by ctx.
func (g *Client) attempt(ctx context.Context, fn func(c *goscaleio.Client) error) error {
	done := make(chan error, 1)
	go func() {
		if g.c == nil {
			if err := g.login(ctx); err != nil {
				done <- err
				return
			}
		}
		g.c.WithContext(ctx)
		defer g.c.ResetContext()
		done <- classify(fn(g.c))
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// goscaleio watches ctx too; wait for it so the client is not used concurrently.
		err := <-done
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w: no answer from %s in time (%v)", ErrUnreachable, g.cfg.URL, err)
	}
}

// IsUnauthorized reports a gateway answer of HTTP 401 (a session token the gateway no longer
// accepts), also as goscaleio words it after a failed re-authentication.
func IsUnauthorized(err error) bool {
	if err == nil {
		return false
	}
	var ge *types.Error
	if errors.As(err, &ge) && ge.HTTPStatusCode == 401 {
		return true
	}
	return errors.Is(err, errUnauthorized)
}

// errUnauthorized marks a 401 seen through classify.
var errUnauthorized = errors.New("gateway session not accepted (HTTP 401)")

// login authenticates and resolves the system once.
func (g *Client) login(ctx context.Context) error {
	timeoutS := int64(g.cfg.CallTimeout / time.Second)
	c, err := goscaleio.NewClientWithArgs(g.cfg.URL, "", timeoutS, g.cfg.Insecure, !g.cfg.Insecure)
	if err != nil {
		return fmt.Errorf("gateway %s: %v", g.cfg.URL, err)
	}
	c.WithContext(ctx)
	defer c.ResetContext()
	if _, err := c.Authenticate(&goscaleio.ConfigConnect{Endpoint: g.cfg.URL, Username: g.cfg.User, Password: g.cfg.Password, Insecure: g.cfg.Insecure}); err != nil {
		return fmt.Errorf("log in to gateway %s as %s: %w", g.cfg.URL, g.cfg.User, classify(err))
	}
	sys, err := c.FindSystem(g.cfg.System, g.cfg.System, "")
	if err != nil {
		return fmt.Errorf("find ScaleIO system %q on %s: %w (check \"system\" in the plugin config)", g.cfg.System, g.cfg.URL, classify(err))
	}
	g.c, g.system, g.systemID = c, sys, sys.System.ID
	return nil
}

// SystemID returns the ScaleIO system id (used in /dev/disk/by-id names), logging in if needed.
func (g *Client) SystemID(ctx context.Context) (string, error) {
	err := g.call(ctx, func(*goscaleio.Client) error { return nil })
	return g.systemID, err
}

func toVolume(v *types.Volume) Volume {
	out := Volume{ID: v.ID, Name: v.Name, SizeGB: v.SizeInKb / decide.KBPerGB, Thin: v.VolumeType == "ThinProvisioned", PoolID: v.StoragePoolID, AncestorID: v.AncestorVolumeID}
	for _, m := range v.MappedSdcInfo {
		if m == nil {
			continue
		}
		out.Mappings = append(out.Mappings, Mapping{SdcID: m.SdcID, SdcIP: m.SdcIP, LimitIops: m.LimitIops, LimitBwMBps: m.LimitBwInMbps})
	}
	return out
}

// FindVolume finds a volume by its ScaleIO name (queryIdByKey, then the volume). ErrNotFound
// when there is none.
func (g *Client) FindVolume(ctx context.Context, name string) (Volume, error) {
	var out Volume
	err := g.call(ctx, func(c *goscaleio.Client) error {
		id, err := c.FindVolumeID(name)
		if err != nil {
			return err
		}
		if id == "" {
			// goscaleio's renewal path (getStringWithRetry) returns no id and no error when the
			// call after its re-login fails: never read "all volumes"; log in afresh and ask again.
			return fmt.Errorf("%w: queryIdByKey %s answered no volume id after goscaleio renewed the session", errUnauthorized, name)
		}
		vols, err := c.GetVolume("", id, "", "", false)
		if err != nil {
			return err
		}
		if len(vols) == 0 {
			return fmt.Errorf("%w: no volume with id %s", ErrNotFound, id)
		}
		out = toVolume(vols[0])
		return nil
	})
	return out, err
}

// ListVolumes returns every volume of the system, snapshots included. goscaleio's GetVolume
// lists either the volumes that are not snapshots (getSnapshots false, no ancestor) or only the
// snapshots (true), filtering GET /api/types/Volume/instances on ancestorVolumeId: both are asked.
func (g *Client) ListVolumes(ctx context.Context) ([]Volume, error) {
	var out []Volume
	err := g.call(ctx, func(c *goscaleio.Client) error {
		out = nil
		for _, snapshots := range []bool{false, true} {
			vols, err := c.GetVolume("", "", "", "", snapshots)
			if err != nil {
				return err
			}
			for _, v := range vols {
				out = append(out, toVolume(v))
			}
		}
		return nil
	})
	return out, err
}

// CreateVolume creates a volume of sizeGB (already a multiple of 8, at most decide.MaxSizeGB)
// in the storage pool poolID and returns its id. A size out of range is refused before the call,
// so the size in KB sent to the gateway never wraps.
func (g *Client) CreateVolume(ctx context.Context, name string, sizeGB int, thin bool, poolID string) (string, error) {
	if sizeGB < 1 || sizeGB > decide.MaxSizeGB {
		return "", fmt.Errorf("volume size %d GB is out of range: ScaleIO volumes are 1 to %d GB", sizeGB, decide.MaxSizeGB)
	}
	var id string
	err := g.call(ctx, func(c *goscaleio.Client) error {
		vt := "ThickProvisioned"
		if thin {
			vt = "ThinProvisioned"
		}
		sp, err := g.storagePool(c, poolID)
		if err != nil {
			return err
		}
		resp, err := sp.CreateVolume(&types.VolumeParam{Name: name, VolumeSizeInKb: strconv.FormatInt(int64(sizeGB)*decide.KBPerGB, 10), VolumeType: vt})
		if err != nil {
			return err
		}
		id = resp.ID
		return nil
	})
	return id, err
}

func (g *Client) volume(c *goscaleio.Client, id string) *goscaleio.Volume {
	v := goscaleio.NewVolume(c)
	v.Volume.ID = id
	v.Volume.Links = []*types.Link{{Rel: "self", HREF: "/api/instances/Volume::" + id}}
	return v
}

// Map maps a volume to one SDC, refusing multiple mappings. Already mapped (81) is success.
func (g *Client) Map(ctx context.Context, volID, sdcID string) error {
	err := g.call(ctx, func(c *goscaleio.Client) error {
		return g.volume(c, volID).MapVolumeSdc(&types.MapVolumeSdcParam{SdcID: sdcID, AllowMultipleMappings: "FALSE"})
	})
	if errors.Is(err, ErrAlreadyMapped) {
		return nil
	}
	return err
}

// Unmap removes the mapping of a volume to one SDC. Not mapped (84) is success.
func (g *Client) Unmap(ctx context.Context, volID, sdcID string) error {
	err := g.call(ctx, func(c *goscaleio.Client) error {
		return g.volume(c, volID).UnmapVolumeSdc(&types.UnmapVolumeSdcParam{SdcID: sdcID})
	})
	if errors.Is(err, ErrNotMapped) {
		return nil
	}
	return err
}

// SetLimits sets the IOPS (0 = unlimited, else > 10) and bandwidth (KB/s, 0 = unlimited, else a
// multiple of 1024) limits of one mapping; limits belong to the mapping, so they are set after
// every new mapping.
func (g *Client) SetLimits(ctx context.Context, volID, sdcID string, iops, bandwidthKBps int) error {
	return g.call(ctx, func(c *goscaleio.Client) error {
		return g.volume(c, volID).SetMappedSdcLimits(&types.SetMappedSdcLimitsParam{SdcID: sdcID, IopsLimit: strconv.Itoa(iops), BandwidthLimitInKbps: strconv.Itoa(bandwidthKBps)})
	})
}

// RemoveVolume removes a volume with removeMode ONLY_ME: the volume alone; its snapshots stay,
// volumes of their own in the VTree (the other modes, INCLUDING_DESCENDANTS, DESCENDANTS_ONLY and
// WHOLE_VTREE, would remove other Docker volumes with it; Dell's csi-powerflex DeleteVolume uses
// ONLY_ME too). Not found (79) is success.
func (g *Client) RemoveVolume(ctx context.Context, volID string) error {
	err := g.call(ctx, func(c *goscaleio.Client) error {
		return g.volume(c, volID).RemoveVolume("ONLY_ME")
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ListSdcs returns the SDCs registered with the system, with their MDM connection state.
func (g *Client) ListSdcs(ctx context.Context) ([]Sdc, error) {
	var out []Sdc
	err := g.call(ctx, func(*goscaleio.Client) error {
		sdcs, err := g.system.GetSdc()
		if err != nil {
			return err
		}
		for _, s := range sdcs {
			out = append(out, Sdc{ID: s.ID, GUID: s.SdcGUID, IP: s.SdcIP, Name: s.Name, Connected: s.MdmConnectionState == "Connected"})
		}
		return nil
	})
	return out, err
}
