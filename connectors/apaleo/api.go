package apaleo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/connectors"
)

// tokenSource keeps one access token from the client-credentials grant until
// shortly before it expires.
type tokenSource struct {
	c *Connector

	mu      sync.Mutex
	token   string
	expires time.Time
}

// get returns a valid token, fetching one if needed. Holding the lock while
// fetching makes concurrent callers share one fetch.
func (t *tokenSource) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Now().Before(t.expires) {
		return t.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	h := http.Header{}
	h.Set("Authorization", "Basic "+basicAuth(t.c.cfg.ClientID, t.c.cfg.ClientSecret))
	var tok Token
	_, err := t.c.Client.DoJSON(ctx, connectors.Request{
		Method: http.MethodPost, URL: t.c.cfg.IdentityURL + "/connect/token", Route: "/connect/token",
		Header: h, Body: []byte(form.Encode()), ContentType: "application/x-www-form-urlencoded",
	}, nil, &tok)
	if err != nil {
		return "", fmt.Errorf("apaleo: access token: %w", err)
	}
	if tok.AccessToken == "" {
		return "", connectors.Permanent(errors.New("apaleo: access token: the identity server answered without a token"))
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	// Renew a little early, so a token does not expire in flight.
	t.token, t.expires = tok.AccessToken, time.Now().Add(life-min(life/10, time.Minute))
	return t.token, nil
}

// invalidate forgets token if it is still the current one.
func (t *tokenSource) invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == token {
		t.token = ""
	}
}

// call makes an authorized API call. On a 401 it fetches a new token and
// tries once more: Apaleo revokes tokens before their expiry at times.
func (c *Connector) call(ctx context.Context, method, path, route string, header http.Header, in, out any) error {
	for attempt := 0; ; attempt++ {
		token, err := c.tokens.get(ctx)
		if err != nil {
			return err
		}
		h := http.Header{}
		for k, v := range header {
			h[k] = v
		}
		h.Set("Authorization", "Bearer "+token)
		_, err = c.Client.DoJSON(ctx, connectors.Request{Method: method, URL: c.cfg.APIURL + path, Route: route, Header: h}, in, out)
		var he *connectors.HTTPError
		if attempt == 0 && errors.As(err, &he) && he.Status == http.StatusUnauthorized {
			c.tokens.invalidate(token)
			continue
		}
		return err
	}
}

func basicAuth(user, pass string) string {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// GetReservation fetches one reservation.
func (c *Connector) GetReservation(ctx context.Context, id string) (*Reservation, error) {
	var r Reservation
	err := c.call(ctx, http.MethodGet, "/booking/v1/reservations/"+url.PathEscape(id), "/booking/v1/reservations/{id}", nil, nil, &r)
	if err != nil {
		return nil, fmt.Errorf("apaleo: get reservation %s: %w", connectors.SafeText(id, 40), err)
	}
	return &r, nil
}
