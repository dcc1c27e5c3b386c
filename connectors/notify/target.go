package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// TargetPolicy says which webhook URLs Roomwire may call. By default only
// https URLs of public addresses: a subscriber must not make the hub call
// into its own network (metadata services, databases, the admin API).
type TargetPolicy struct {
	// AllowPrivate lets URLs reach loopback, private (RFC 1918, ULA) and
	// link-local addresses. For tests and closed networks only: a
	// subscriber must not make the hub call into its own network.
	AllowPrivate bool `yaml:"allow_private_targets" doc:"true lets URLs reach loopback and private networks"`
	AllowHTTP    bool `yaml:"allow_http" doc:"true accepts plain http:// URLs"`
}

// maxURLLen bounds a subscription's URL.
const maxURLLen = 2000

// CheckURL validates a webhook URL against the policy. Host names are
// checked again on every connection (see Client), since DNS may change.
func (p TargetPolicy) CheckURL(raw string) error {
	if len(raw) > maxURLLen {
		return fmt.Errorf("is longer than %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute URL such as https://example.com/roomwire/webhooks")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return errors.New("must use https (plain http is allowed only with notifications.webhooks.allow_http)")
		}
	default:
		return fmt.Errorf("scheme %q: must be https", u.Scheme)
	}
	if u.User != nil {
		return errors.New("must not carry a user or password; the signature authenticates Roomwire")
	}
	if u.Fragment != "" {
		return errors.New("must not have a #fragment")
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.checkAddr(addr)
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if !p.AllowPrivate {
			return errors.New("points at this machine (loopback); not allowed")
		}
	}
	return nil
}

// checkAddr refuses addresses inside private networks unless allowed.
func (p TargetPolicy) checkAddr(a netip.Addr) error {
	a = a.Unmap()
	switch {
	case a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("address %s cannot receive webhooks", a)
	case p.AllowPrivate:
		return nil
	case a.IsLoopback():
		return fmt.Errorf("address %s is loopback; not allowed", a)
	case a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), sharedAddressSpace.Contains(a):
		return fmt.Errorf("address %s is in a private network; not allowed", a)
	}
	return nil
}

// sharedAddressSpace is RFC 6598's carrier-grade NAT range.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// Client returns the HTTP client webhook deliveries use: it checks every
// address it connects to against the policy (so a DNS answer cannot point
// a public name at a private address), follows no redirects, and gives up
// after timeout.
func (p TargetPolicy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			return p.checkAddr(ap.Addr())
		},
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
