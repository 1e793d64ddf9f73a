package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// PinnedForwarder serves the gateway on a loopback address, over connections to the gateway
// whose certificate is exactly the pinned one (sha256 of its DER). It exists because goscaleio
// builds its own TLS transport (name checks against system or SSL_CERT_FILE roots, or none at
// all): a gateway's self-signed certificate that does not name the address the plugin uses
// (ScaleIO's default one names the host, CN only) could only be trusted by turning checks off.
// The loopback leg is plain HTTP inside the host, visible only to root.
type PinnedForwarder struct {
	// URL is what goscaleio should use instead of the gateway's: http://127.0.0.1:<port>.
	URL string
	srv *http.Server
}

// ErrCertificateMismatch: the gateway presented another certificate than the pinned one.
var ErrCertificateMismatch = errors.New("the gateway's certificate is not the pinned one")

// pinnedTLS verifies the peer by its leaf certificate's sha256 alone (pinning replaces the
// name and chain checks, which is why InsecureSkipVerify is set).
func pinnedTLS(pin []byte) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // #nosec G402: VerifyConnection checks the pinned certificate
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrCertificateMismatch
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], pin) {
				return fmt.Errorf("%w: got sha256 %x", ErrCertificateMismatch, got)
			}
			return nil
		},
	}
}

// StartPinnedForwarder listens on 127.0.0.1 (a free port) and forwards to gateway (an https
// URL), verifying the gateway's certificate against pinHex (64 hex digits). Close stops it.
func StartPinnedForwarder(gateway, pinHex string) (*PinnedForwarder, error) {
	target, err := url.Parse(gateway)
	if err != nil || target.Scheme != "https" || target.Host == "" {
		return nil, fmt.Errorf("gateway %q: a pinned certificate needs an https URL", gateway)
	}
	pin, err := hex.DecodeString(pinHex)
	if err != nil || len(pin) != sha256.Size {
		return nil, fmt.Errorf("gatewayCertSha256 %q: want 64 hex digits", pinHex)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pinned gateway forwarder: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: pinnedTLS(pin), TLSHandshakeTimeout: 15 * time.Second}
	// The reason (e.g. a certificate mismatch) reaches the plugin's error, not a bare 502.
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, "gateway "+target.Host+": "+err.Error(), http.StatusBadGateway)
	}
	f := &PinnedForwarder{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Close stops the forwarder.
func (f *PinnedForwarder) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.srv.Shutdown(ctx)
}
